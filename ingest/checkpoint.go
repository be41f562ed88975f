package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"
)

// position is where a record came from: the pass over the inputs, the file and the line,
// and for lines that hold several records (Twitter API v2 pages) which one. The checkpoint
// file holds the position of the last acknowledged record.
type position struct {
	Pass int    `json:"pass"`
	File string `json:"file"`
	Line int    `json:"line"`
	// Item is the record's index among its line's records, and More is set when the line
	// has records after it: a replay resuming there re-reads the line and skips Item+1.
	Item int  `json:"item,omitempty"`
	More bool `json:"more,omitempty"`
	// Done marks a replay without Loop that produced all of its inputs.
	Done bool `json:"done,omitempty"`
}

// checkpointEvery is how often the producer writes the checkpoint file.
const checkpointEvery = time.Second

// loadCheckpoint reads the checkpoint file, if any, and checks it against the inputs.
func (in *Ingester) loadCheckpoint(sources []Source) (position, error) {
	if in.cfg.Checkpoint == "" {
		return position{}, nil
	}
	data, err := os.ReadFile(in.cfg.Checkpoint)
	if errors.Is(err, fs.ErrNotExist) {
		return position{}, nil
	}
	if err != nil {
		return position{}, fmt.Errorf("ingest: checkpoint: %w", err)
	}
	var p position
	if err := json.Unmarshal(data, &p); err != nil {
		return position{}, fmt.Errorf("ingest: checkpoint %s is damaged (remove it to start over): %w", in.cfg.Checkpoint, err)
	}
	if p.File != "" && !slices.ContainsFunc(sources, func(s Source) bool { return s.Name() == p.File }) {
		return position{}, fmt.Errorf("ingest: checkpoint %s names %s, which is not among the inputs (remove it to start over)", in.cfg.Checkpoint, p.File)
	}
	return p, nil
}

// saveCheckpoint replaces the checkpoint file atomically.
func (in *Ingester) saveCheckpoint(p position) error {
	if in.cfg.Checkpoint == "" {
		return nil
	}
	data, err := json.Marshal(p)
	if err != nil {
		return err
	}
	tmp := in.cfg.Checkpoint + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, in.cfg.Checkpoint)
}
