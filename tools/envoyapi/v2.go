//go:build envoyv2

// The xDS v2 API (Istio 1.6, Envoy 1.14): built only against go-control-plane releases that carry it.
package main

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/runtime/protoimpl"

	routev2 "github.com/envoyproxy/go-control-plane/envoy/api/v2/route"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/filter/http/ext_authz/v2"
	_ "github.com/envoyproxy/go-control-plane/envoy/config/filter/http/lua/v2"
	hcmv2 "github.com/envoyproxy/go-control-plane/envoy/config/filter/network/http_connection_manager/v2"
)

func init() {
	messages["v2"] = map[string]func() proto.Message{
		"HTTP_FILTER": func() proto.Message { return protoimpl.X.ProtoMessageV2Of(&hcmv2.HttpFilter{}) },
		"HTTP_ROUTE":  func() proto.Message { return protoimpl.X.ProtoMessageV2Of(&routev2.Route{}) },
	}
}
