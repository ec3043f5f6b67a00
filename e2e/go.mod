module github.com/changerelay/changerelay/e2e

go 1.26.8

require (
	github.com/changerelay/changerelay/functions v0.0.0
	github.com/changerelay/changerelay/infra v0.0.0
	github.com/changerelay/changerelay/relay v0.0.0
)

require (
	github.com/awslabs/goformation/v7 v7.14.9 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	go.mongodb.org/mongo-driver v1.17.10 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)

replace github.com/changerelay/changerelay/functions => ../functions

replace github.com/changerelay/changerelay/relay => ../relay

replace github.com/changerelay/changerelay/infra => ../infra
