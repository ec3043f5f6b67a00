module github.com/changerelay/changerelay/functions

go 1.26.8

require (
	github.com/stretchr/testify v1.12.1
	go.mongodb.org/mongo-driver v1.17.10
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

replace github.com/changerelay/changerelay/infra => ../infra
