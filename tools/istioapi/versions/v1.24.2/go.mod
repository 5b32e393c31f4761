module meshauth.dev/tools/istioapi

go 1.26.8

require (
	google.golang.org/protobuf v1.34.1
	istio.io/api v1.24.2
)

require (
	github.com/golang/protobuf v1.5.4 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20240513163218-0867130af1f8 // indirect
)
