package store

import (
	"go.mongodb.org/mongo-driver/mongo/options"
)

var bulkUnordered = options.BulkWrite().SetOrdered(false)
