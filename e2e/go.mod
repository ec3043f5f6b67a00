module github.com/changerelay/changerelay/e2e

go 1.26.8

require (
	github.com/changerelay/changerelay/functions v0.0.0
	github.com/changerelay/changerelay/infra v0.0.0
	github.com/changerelay/changerelay/relay v0.0.0
)

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0 // indirect
	github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream v1.7.27 // indirect
	github.com/aws/aws-sdk-go-v2/credentials v1.21.1 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.8.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/lambda v1.117.0 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
	github.com/awslabs/goformation/v7 v7.14.9 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.mongodb.org/mongo-driver v1.17.10 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/changerelay/changerelay/functions => ../functions

replace github.com/changerelay/changerelay/relay => ../relay

replace github.com/changerelay/changerelay/infra => ../infra
