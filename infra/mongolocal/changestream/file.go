package changestream

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/bson/primitive"
	"go.mongodb.org/mongo-driver/x/bsonx/bsoncore"
)

// logFileName is the file under Config.Dir that holds the log: BSON
// documents back to back, an optional meta document first, then one
// document per record in position order.
const logFileName = "changelog.bson"

// maxRecordSize bounds one stored record (a 16 MB document with both images
// and its update description fits comfortably).
const maxRecordSize = 128 << 20

// logMeta is what the log must remember beyond its records: where the live
// records start, and what retention already discarded.
type logMeta struct {
	first  uint64              // position of the oldest live record
	lastTS primitive.Timestamp // cluster time of the newest record ever appended
	lostTS primitive.Timestamp // cluster time of the newest discarded record
	lost   bool                // whether retention discarded anything
}

func (m logMeta) encode() []byte {
	inner := bsoncore.BuildDocument(nil,
		bsoncore.AppendInt64Element(nil, "first", int64(m.first)),
		bsoncore.AppendTimestampElement(nil, "lastTS", m.lastTS.T, m.lastTS.I),
		bsoncore.AppendTimestampElement(nil, "lostTS", m.lostTS.T, m.lostTS.I),
		bsoncore.AppendBooleanElement(nil, "lost", m.lost),
	)
	return bsoncore.BuildDocument(nil, bsoncore.AppendDocumentElement(nil, "meta", inner))
}

func decodeMeta(doc bson.Raw) (logMeta, error) {
	var m logMeta
	inner, ok := doc.Lookup("meta").DocumentOK()
	if !ok {
		return m, errors.New("meta is not a document")
	}
	first, ok1 := inner.Lookup("first").Int64OK()
	lt, li, ok2 := inner.Lookup("lastTS").TimestampOK()
	ot, oi, ok3 := inner.Lookup("lostTS").TimestampOK()
	lost, ok4 := inner.Lookup("lost").BooleanOK()
	if !ok1 || !ok2 || !ok3 || !ok4 || first < 1 {
		return m, errors.New("malformed meta document")
	}
	m.first = uint64(first)
	m.lastTS = primitive.Timestamp{T: lt, I: li}
	m.lostTS = primitive.Timestamp{T: ot, I: oi}
	m.lost = lost
	return m, nil
}

// logFile is the on-disk copy of the log. Appends go to the end; when most
// of the file is records that retention discarded, compact rewrites it.
type logFile struct {
	path  string
	f     *os.File
	w     *bufio.Writer
	stale int // records in the file that retention discarded
}

// openLogFile loads dir's log file, creating it if needed. A damaged tail
// (a torn write) is cut off and reported to logger.
func openLogFile(dir string, logger *slog.Logger) (*logFile, logMeta, []*record, error) {
	meta := logMeta{first: 1}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, meta, nil, fmt.Errorf("changestream: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, logFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, meta, nil, fmt.Errorf("changestream: open log file: %w", err)
	}
	recs, meta, good, readErr := readLogFile(f)
	if readErr != nil {
		logger.Warn("changestream: damaged log file; dropping its tail",
			"path", path, "offset", good, "error", readErr)
		if err := f.Truncate(good); err != nil {
			_ = f.Close()
			return nil, meta, nil, fmt.Errorf("changestream: truncate damaged log file: %w", err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, meta, nil, fmt.Errorf("changestream: seek log file: %w", err)
	}
	lf := &logFile{path: path, f: f, w: bufio.NewWriterSize(f, 64<<10)}
	return lf, meta, recs, nil
}

// readLogFile reads every good document; good is the offset after the last
// one, and err says why reading stopped early (nil at a clean end).
func readLogFile(f *os.File) (recs []*record, meta logMeta, good int64, err error) {
	meta = logMeta{first: 1}
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		var lenBuf [4]byte
		if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return recs, meta, good, nil
			}
			return recs, meta, good, fmt.Errorf("read length: %w", err)
		}
		n := int64(binary.LittleEndian.Uint32(lenBuf[:]))
		if n < 5 || n > maxRecordSize {
			return recs, meta, good, fmt.Errorf("bad document length %d", n)
		}
		doc := make([]byte, n)
		copy(doc, lenBuf[:])
		if _, err := io.ReadFull(r, doc[4:]); err != nil {
			return recs, meta, good, fmt.Errorf("read document: %w", err)
		}
		if err := bson.Raw(doc).Validate(); err != nil {
			return recs, meta, good, fmt.Errorf("invalid document: %w", err)
		}
		if _, err := bson.Raw(doc).LookupErr("meta"); err == nil {
			if good != 0 {
				return recs, meta, good, errors.New("meta document after records")
			}
			if meta, err = decodeMeta(doc); err != nil {
				return recs, meta, good, err
			}
			good += n
			continue
		}
		rec, err := decodeRecord(doc)
		if err != nil {
			return recs, meta, good, err
		}
		want := meta.first
		if len(recs) > 0 {
			want = recs[len(recs)-1].seq + 1
		}
		if rec.seq < want {
			return recs, meta, good, fmt.Errorf("record %d out of order (want %d or later)", rec.seq, want)
		}
		if len(recs) == 0 && rec.seq > meta.first {
			// Records before this one were dropped without a meta document
			// saying so; count them as lost.
			meta.lost = true
			meta.first = rec.seq
		}
		if rec.ts.After(meta.lastTS) {
			meta.lastTS = rec.ts
		}
		recs = append(recs, rec)
		good += n
	}
}

// append writes records (not yet flushed).
func (lf *logFile) append(recs []*record) error {
	for _, r := range recs {
		if _, err := lf.w.Write(r.encode()); err != nil {
			return fmt.Errorf("changestream: write log file: %w", err)
		}
	}
	return nil
}

// flush hands buffered records to the OS (no fsync).
func (lf *logFile) flush() error {
	if err := lf.w.Flush(); err != nil {
		return fmt.Errorf("changestream: write log file: %w", err)
	}
	return nil
}

// compact rewrites the file with only the live records.
func (lf *logFile) compact(meta logMeta, recs []*record) error {
	if err := lf.flush(); err != nil {
		return err
	}
	tmp := lf.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("changestream: compact log file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	_, err = w.Write(meta.encode())
	for _, r := range recs {
		if err != nil {
			break
		}
		_, err = w.Write(r.encode())
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = os.Rename(tmp, lf.path)
	}
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("changestream: compact log file: %w", err)
	}
	_ = lf.f.Close()
	lf.f = f
	lf.w = bufio.NewWriterSize(f, 64<<10)
	lf.stale = 0
	return nil
}

// close flushes and closes the file.
func (lf *logFile) close() error {
	ferr := lf.flush()
	cerr := lf.f.Close()
	if ferr != nil {
		return ferr
	}
	if cerr != nil {
		return fmt.Errorf("changestream: close log file: %w", cerr)
	}
	return nil
}
