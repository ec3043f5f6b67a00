package changestream

import (
	"github.com/changerelay/changerelay/infra/mongolocal/mongoerr"
)

// Codes mongod uses for change-stream errors that mongoerr has no constant
// for (numbers from src/mongo/base/error_codes.yml and the uassert sites).
const (
	codeTokenMissingData        = 40647
	codeResumeOptionsExclusive  = 40674
	codeResumeAndStartAfter     = 50865
	codeChangeStreamNotFirst    = 40602
	codeChangeStreamSpecType    = 50808
	codeSplitStagePosition      = 7182802
	codeSplitSpecNotEmpty       = 7182800
	codeMatchSpecType           = 15959
	codeProjectSpecType         = 15969
	codeStageSpecSingleField    = 40323
	codeReplaceRootMissingField = 40231
	codeReplaceRootNotObject    = 40228
)

// errHistoryLost is mongod's ChangeStreamHistoryLost reply.
func errHistoryLost() error {
	return mongoerr.New(mongoerr.ChangeStreamHistoryLost,
		"Resume of change stream was not possible, as the resume point may no longer be in the oplog.")
}

// errIDModified is mongod's reply when a stage changed an event's _id.
func errIDModified() error {
	return mongoerr.New(mongoerr.ChangeStreamFatalError,
		"Encountered an event whose _id field, which contains the resume token, was modified by the "+
			"pipeline. Modifying the _id field of an event makes it impossible to resume the stream from "+
			"that point. Only transformations that retain the unmodified _id field are allowed.")
}

// errCursorGone is returned by a cursor that was closed or ran out.
func errCursorGone() error {
	return mongoerr.New(mongoerr.CursorNotFound, "change stream cursor was closed")
}
