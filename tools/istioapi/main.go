// Command istioapi parses Istio objects and mesh configs with Istio's own API types (istio.io/api),
// refusing unknown fields, as istiod does. Test tooling for meshauth (tests/istioapi.py builds it
// once per served istio.io/api release).
//
// Input: one JSON object per line on stdin, {"kind": K, "spec": {...}}, where K is an Istio kind
// (AuthorizationPolicy, RequestAuthentication, PeerAuthentication, Gateway, VirtualService,
// DestinationRule, ServiceEntry, Sidecar, EnvoyFilter) or MeshConfig (the mesh config itself).
// Output: one line per input line, "ok" or "error: <message>"; exit 0 unless stdin is unreadable.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
)

func message(kind string) proto.Message {
	switch kind {
	case "AuthorizationPolicy":
		return &security.AuthorizationPolicy{}
	case "RequestAuthentication":
		return &security.RequestAuthentication{}
	case "PeerAuthentication":
		return &security.PeerAuthentication{}
	case "Gateway":
		return &networking.Gateway{}
	case "VirtualService":
		return &networking.VirtualService{}
	case "DestinationRule":
		return &networking.DestinationRule{}
	case "ServiceEntry":
		return &networking.ServiceEntry{}
	case "Sidecar":
		return &networking.Sidecar{}
	case "EnvoyFilter":
		return &networking.EnvoyFilter{}
	case "MeshConfig":
		return &meshv1alpha1.MeshConfig{}
	}
	return nil
}

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	strict := protojson.UnmarshalOptions{DiscardUnknown: false}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for scanner.Scan() {
		var item struct {
			Kind string          `json:"kind"`
			Spec json.RawMessage `json:"spec"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &item); err != nil {
			fmt.Fprintf(out, "error: not a JSON object: %v\n", err)
			continue
		}
		msg := message(item.Kind)
		if msg == nil {
			fmt.Fprintf(out, "error: unknown kind %q\n", item.Kind)
			continue
		}
		spec := item.Spec
		if len(spec) == 0 || string(spec) == "null" {
			spec = []byte("{}")
		}
		if err := strict.Unmarshal(spec, msg); err != nil {
			fmt.Fprintf(out, "error: %v\n", err)
			continue
		}
		fmt.Fprintln(out, "ok")
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
