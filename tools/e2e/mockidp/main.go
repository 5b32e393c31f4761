// Command mockidp is the identity provider of meshauth's end-to-end harness (tools/e2e.py): an
// OpenID Connect provider (github.com/oauth2-proxy/mockoidc) serving discovery, JWKS, authorize,
// token (code and refresh grants) and userinfo, signing ID tokens (RS256) with the claims the test
// queued for the next login.
//
// It prints one JSON line, {"issuer": ..., "control": ...}, once it listens. The control endpoint:
//
//	POST /login   {claims}  the next authorize call logs in a user with these claims
//	POST /token   {claims}  a token signed by the IdP's key (a machine client's bearer token),
//	                        iss and iat/exp filled in unless given
package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

type user struct{ claims map[string]any }

func (u user) ID() string {
	if sub, ok := u.claims["sub"].(string); ok {
		return sub
	}
	return "e2e-user"
}

func (u user) Userinfo([]string) ([]byte, error) { return json.Marshal(u.claims) }

func (u user) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	raw, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	merged := jwt.MapClaims{}
	if err := json.Unmarshal(raw, &merged); err != nil {
		return nil, err
	}
	for k, v := range u.claims {
		if k != "iss" && k != "aud" && k != "exp" && k != "iat" && k != "nonce" {
			merged[k] = v
		}
	}
	return merged, nil
}

func main() {
	clientID := flag.String("client-id", "meshauth", "the OAuth client id oauth2-proxy uses")
	clientSecret := flag.String("client-secret", "e2e-client-secret", "its secret")
	flag.Parse()

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	m, err := mockoidc.NewServer(key)
	if err != nil {
		log.Fatal(err)
	}
	m.ClientID, m.ClientSecret = *clientID, *clientSecret
	m.AccessTTL, m.RefreshTTL = time.Hour, 24*time.Hour
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		log.Fatal(err)
	}

	control := http.NewServeMux()
	control.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		claims := map[string]any{}
		if err := json.NewDecoder(r.Body).Decode(&claims); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		m.QueueUser(user{claims})
		w.WriteHeader(http.StatusNoContent)
	})
	control.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		claims := jwt.MapClaims{"iss": m.Issuer(), "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}
		extra := map[string]any{}
		if err := json.NewDecoder(r.Body).Decode(&extra); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for k, v := range extra {
			claims[k] = v
		}
		token, err := m.Keypair.SignJWT(claims)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, token)
	})
	cl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { log.Fatal(http.Serve(cl, control)) }()
	line, _ := json.Marshal(map[string]string{"issuer": m.Issuer(), "control": "http://" + cl.Addr().String()})
	fmt.Println(string(line))
	os.Stdout.Sync()
	select {}
}
