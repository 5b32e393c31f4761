// Command envoyapi parses the Envoy config inside EnvoyFilter patches with Envoy's own API types
// (github.com/envoyproxy/go-control-plane), strictly: unknown fields refused, every Any resolved
// against the types registered in this release, then the protoc-gen-validate rules (Validate) of
// each message, the messages inside Any fields included. Test tooling for meshauth
// (tests/envoyapi.py builds it once per go-control-plane release matching the Envoy an Istio minor
// ships).
//
// Input: one JSON object per line on stdin, {"xds": "v2"|"v3", "applyTo": A, "operation": O,
// "value": {...}}: A is the EnvoyFilter patch's applyTo (HTTP_FILTER, HTTP_ROUTE), O its operation
// (a MERGE value is a partial message: its own required fields are not asked for, those of the
// typed configs inside it are), "v2" parses as the xDS v2 API (Istio 1.6; built with -tags
// envoyv2), "v3" as v3.
// Output: one line per input line, "ok" or "error: <message>"; exit 0 unless stdin is unreadable.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/runtime/protoimpl"
)

// messages: the message an EnvoyFilter patch value is, per xDS API and applyTo (as istiod reads it).
var messages = map[string]map[string]func() proto.Message{
	"v3": {
		"HTTP_FILTER": func() proto.Message { return protoimpl.X.ProtoMessageV2Of(&hcmv3.HttpFilter{}) },
		"HTTP_ROUTE":  func() proto.Message { return protoimpl.X.ProtoMessageV2Of(&routev3.Route{}) },
	},
}

type validator interface{ Validate() error }

// validate runs the message's protoc-gen-validate rules, where it has them.
func validate(m protoreflect.Message) error {
	if v, ok := protoimpl.X.ProtoMessageV1Of(m.Interface()).(validator); ok {
		return v.Validate()
	}
	return nil
}

// walk checks every message below m: the content of each Any is resolved, parsed and validated.
func walk(m protoreflect.Message, path string) error {
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		at := path + "." + string(fd.Name())
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
					err = inner(mv.Message(), fmt.Sprintf("%s[%s]", at, k.String()))
					return err == nil
				})
			}
		case fd.IsList():
			if fd.Message() != nil {
				for i := 0; i < v.List().Len() && err == nil; i++ {
					err = inner(v.List().Get(i).Message(), fmt.Sprintf("%s[%d]", at, i))
				}
			}
		case fd.Message() != nil:
			err = inner(v.Message(), at)
		}
		return err == nil
	})
	return err
}

func inner(m protoreflect.Message, path string) error {
	d := m.Descriptor()
	if d.FullName() != "google.protobuf.Any" {
		return walk(m, path)
	}
	url := m.Get(d.Fields().ByName("type_url")).String()
	mt, err := protoregistry.GlobalTypes.FindMessageByURL(url)
	if err != nil {
		return fmt.Errorf("%s: %q: %v", path, url, err)
	}
	content := mt.New()
	if err := proto.Unmarshal(m.Get(d.Fields().ByName("value")).Bytes(), content.Interface()); err != nil {
		return fmt.Errorf("%s (%s): %v", path, url, err)
	}
	if err := validate(content); err != nil {
		return fmt.Errorf("%s (%s): invalid: %v", path, url, err)
	}
	return walk(content, path)
}

func check(xds, applyTo, operation string, value []byte) error {
	build, ok := messages[xds][applyTo]
	if !ok {
		return fmt.Errorf("no message known for xDS %q applyTo %q", xds, applyTo)
	}
	msg := build()
	if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(value, msg); err != nil {
		return err
	}
	m := msg.ProtoReflect()
	if untyped := m.Descriptor().Fields().ByName("config"); untyped != nil && m.Has(untyped) {
		return fmt.Errorf("config (an untyped Struct) cannot be checked: use typed_config")
	}
	if operation != "MERGE" {
		if err := validate(m); err != nil {
			return fmt.Errorf("invalid: %v", err)
		}
	}
	return walk(m, "value")
}

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for scanner.Scan() {
		var item struct {
			XDS       string          `json:"xds"`
			ApplyTo   string          `json:"applyTo"`
			Operation string          `json:"operation"`
			Value     json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(scanner.Bytes(), &item); err != nil {
			fmt.Fprintf(out, "error: not a JSON object: %v\n", err)
			continue
		}
		if err := check(item.XDS, item.ApplyTo, item.Operation, item.Value); err != nil {
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
