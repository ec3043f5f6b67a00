// Package config is the relay's configuration: a YAML file, environment
// overrides, documented defaults and a Validate that names the bad setting.
//
// With no file and no environment the defaults route the four RealWorld
// collections (users, articles, comments, favorites) to the functions of the
// same names in database "conduit".
package config
