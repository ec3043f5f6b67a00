// Package mongoconn reads the functions' database configuration and
// connects once per execution environment: MONGODB_URI, or
// MONGODB_URI_SECRET_ARN read once from AWS Secrets Manager, and
// MONGODB_DATABASE (default "conduit").
package mongoconn
