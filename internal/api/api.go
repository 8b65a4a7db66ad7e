// Package api holds the generated API surfaces, one package per AWS service
// that nephele serves. Run `go generate ./internal/api` after a botocore
// upgrade; the output is committed, so building needs no botocore.
package api

//go:generate go run ./gen -out .
