package mongoconn

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/event"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"go.mongodb.org/mongo-driver/mongo/readpref"
)

// Connect resolves the URI (reading the secret once) and returns a client
// and the configured database. mongo.Connect does not wait for the server;
// the first operation does, bounded by ConnectTimeout. monitor may be nil.
func Connect(ctx context.Context, cfg Config, sm SecretGetter, monitor *event.CommandMonitor) (*mongo.Client, *mongo.Database, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	uri, err := ResolveURI(ctx, cfg, sm)
	if err != nil {
		return nil, nil, err
	}
	opts := options.Client().ApplyURI(uri).
		SetAppName("changerelay-functions").
		SetServerSelectionTimeout(cfg.ConnectTimeout).
		SetConnectTimeout(cfg.ConnectTimeout)
	if monitor != nil {
		opts.SetMonitor(monitor)
	}
	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to MongoDB: %w", err)
	}
	// The handlers must read what their event's write committed: from the
	// primary, whatever readPreference the URI names.
	db := client.Database(cfg.Database, options.Database().SetReadPreference(readpref.Primary()))
	return client, db, nil
}
