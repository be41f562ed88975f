package ingest

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/starling-analytics/starling/internal/tweet"
)

// formatFiles lists the real Twitter payloads in testdata/tweet-formats (copies of public
// test data, licences beside them), in name order.
func formatFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir("testdata/tweet-formats", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), "LICENSE") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no payload files under testdata/tweet-formats: %v", err)
	}
	return files
}

// parseFile parses every line of a payload file, returning the records and the rejections
// by line number.
func parseFile(t testing.TB, name string, h Hints) (recs []tweet.Record, rejected map[int]error) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	rejected = map[int]error{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		rs, err := h.Parse(line)
		for _, r := range rs {
			if verr := r.Validate(); verr != nil {
				t.Fatalf("%s:%d: Parse returned an invalid record: %v", name, i+1, verr)
			}
		}
		if err != nil {
			rejected[i+1] = err
		}
		recs = append(recs, rs...)
	}
	return recs, rejected
}

// TestActivityStreamsMatchOriginalFormat parses the same 25 tweets in both v1.1 renderings:
// each gives the same canonical record, but for its source format.
func TestActivityStreamsMatchOriginalFormat(t *testing.T) {
	t.Parallel()
	orig, rej1 := parseFile(t, "testdata/tweet-formats/v1.1/original_format_examples.json", Hints{})
	as, rej2 := parseFile(t, "testdata/tweet-formats/v1.1/activity_streams_examples.json", Hints{})
	if len(rej1)+len(rej2) > 0 || len(orig) != 25 || len(as) != 25 {
		t.Fatalf("%d and %d records, rejections %v %v; want 25 of each", len(orig), len(as), rej1, rej2)
	}
	for i := range orig {
		if as[i].SourceFormat != tweet.FormatActivity {
			t.Errorf("tweet %d: source format %q", i+1, as[i].SourceFormat)
		}
		as[i].SourceFormat = orig[i].SourceFormat
		if diff := cmp.Diff(orig[i], as[i]); diff != "" {
			t.Errorf("tweet %d (%s) differs between original format and activity streams (-original +activity):\n%s", i+1, orig[i].ID, diff)
		}
	}
}

// TestV2PageAndFlatAgree parses the same 100 tweets as response pages (includes beside the
// data) and flattened (twarc's flatten: everything inline): the records are the same.
func TestV2PageAndFlatAgree(t *testing.T) {
	t.Parallel()
	page, rej1 := parseFile(t, "testdata/tweet-formats/v2/noflat.jsonl", Hints{})
	flat, rej2 := parseFile(t, "testdata/tweet-formats/v2/flat.jsonl", Hints{})
	if len(rej1)+len(rej2) > 0 || len(page) != 100 || len(flat) != 100 {
		t.Fatalf("%d and %d records, rejections %v %v; want 100 of each", len(page), len(flat), rej1, rej2)
	}
	for i := range page {
		if diff := cmp.Diff(page[i], flat[i]); diff != "" {
			t.Errorf("tweet %d (%s) differs between page and flattened (-page +flat):\n%s", i+1, page[i].ID, diff)
		}
	}
}

var update = flag.Bool("update", false, "rewrite the golden canonical records in testdata/golden")

// hintsFor are the hints the ingester gives a file's lines (see readChunks).
func hintsFor(name string) Hints {
	return Hints{UserCompliance: strings.Contains(strings.ToLower(filepath.Base(name)), "user"), Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

// TestPayloadFiles parses every real payload file and compares what comes out (each
// line's canonical records, or its rejection) with the reviewed golden file beside it in
// testdata/golden, and with the counts below. go test -run TestPayloadFiles -update
// rewrites the golden files; review their diff before committing it.
func TestPayloadFiles(t *testing.T) {
	t.Parallel()
	// What each file holds: tweets, tombstones, and rejected lines by reason.
	want := map[string]struct {
		tweets, tombstones int
		rejected           map[string]int
	}{
		"v1.1/original_format_examples.json":  {tweets: 25},
		"v1.1/activity_streams_examples.json": {tweets: 25},
		// Payloads tweet_parser calls broken: an additional field or a missing optional one
		// (user.description, quoted_status.user, actor.summary) leaves a usable tweet; a
		// tweet without its author is damaged.
		"v1.1/broken_and_unsupported_payloads/activity_streams_additional_field.json":        {tweets: 1},
		"v1.1/broken_and_unsupported_payloads/activity_streams_missing_field.json":           {tweets: 1},
		"v1.1/broken_and_unsupported_payloads/original_format_additional_field.json":         {tweets: 1},
		"v1.1/broken_and_unsupported_payloads/original_format_missing_field.json":            {tweets: 1},
		"v1.1/broken_and_unsupported_payloads/original_format_missing_quotetweet_field.json": {tweets: 1},
		"v1.1/broken_and_unsupported_payloads/original_format_missing_user.json":             {rejected: map[string]int{"missing user": 1}},
		"v1.1/broken_and_unsupported_payloads/public_api_sample.json":                        {tweets: 20},
		"v2/2sets.jsonl":                       {tweets: 200},
		"v2/brexit.jsonl":                      {tweets: 100},
		"v2/cashtags.jsonl":                    {tweets: 1},
		"v2/cotweet.jsonl":                     {tweets: 1},
		"v2/counts.jsonl":                      {rejected: map[string]int{"not a tweet": 1}},
		"v2/edited.jsonl":                      {tweets: 1},
		"v2/edited_after.jsonl":                {tweets: 1},
		"v2/edited_before.jsonl":               {tweets: 1},
		"v2/empty.json":                        {},
		"v2/entities_test.jsonl":               {tweets: 474},
		"v2/flat.jsonl":                        {tweets: 100},
		"v2/geo_tweets.jsonl":                  {tweets: 2},
		"v2/kpop.jsonl":                        {tweets: 100},
		"v2/lists.jsonl":                       {rejected: map[string]int{"not a tweet": 2}},
		"v2/many_urls.jsonl":                   {tweets: 1},
		"v2/media_policy_violation_off.jsonl":  {tweets: 100},
		"v2/media_policy_violation_on.jsonl":   {tweets: 100},
		"v2/media_tweet.jsonl":                 {tweets: 1},
		"v2/mentions_tweet.jsonl":              {tweets: 1},
		"v2/noflat.jsonl":                      {tweets: 100},
		"v2/quoted_edit.jsonl":                 {tweets: 1},
		"v2/streaming_output.jsonl":            {tweets: 8, rejected: map[string]int{"api error": 1}},
		"v2/streaming_output_with_error.jsonl": {tweets: 7, rejected: map[string]int{"invalid json": 1}},
		"v2/tweets_compliance.jsonl":           {tombstones: 2},
		"v2/two_tweets.jsonl":                  {tweets: 1},
		"v2/users.jsonl":                       {rejected: map[string]int{"not a tweet": 1}},
		"v2/users_compliance.jsonl":            {tombstones: 2},
		"v2/verified_type.jsonl":               {tweets: 1},
		"v2/withheld.jsonl":                    {tweets: 215},
	}
	seen := map[string]bool{}
	for _, name := range formatFiles(t) {
		rel := filepath.ToSlash(strings.TrimPrefix(name, "testdata/tweet-formats/"))
		seen[rel] = true
		w, ok := want[rel]
		if !ok {
			t.Errorf("%s: no expectation for this payload file", rel)
			continue
		}
		recs, rejected := parseFile(t, name, hintsFor(name))
		var tweets, tombs int
		for _, r := range recs {
			if r.IsTombstone() {
				tombs++
			} else {
				tweets++
			}
		}
		reasons := map[string]int{}
		for _, err := range rejected {
			reasons[reason(err)]++
		}
		if tweets != w.tweets || tombs != w.tombstones || !maps.Equal(reasons, w.rejected) && len(reasons)+len(w.rejected) > 0 {
			t.Errorf("%s: %d tweets, %d tombstones, rejected %v; want %d, %d, %v", rel, tweets, tombs, reasons, w.tweets, w.tombstones, w.rejected)
		}
		compareGolden(t, name, filepath.Join("testdata/golden", rel+".golden"))
	}
	for rel := range want {
		if !seen[rel] {
			t.Errorf("%s: expected payload file is missing", rel)
		}
	}
}

// compareGolden renders a payload file line by line (its records as canonical JSON, or
// its rejection) and compares that with the golden file.
func compareGolden(t *testing.T, name, golden string) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	h := hintsFor(name)
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		recs, err := h.Parse(line)
		for _, r := range recs {
			b, eerr := tweet.Encode(r)
			if eerr != nil {
				t.Fatalf("%s:%d: %v", name, i+1, eerr)
			}
			fmt.Fprintf(&out, "%d\t%s\n", i+1, b)
		}
		if err != nil {
			fmt.Fprintf(&out, "%d\trejected (%s): %v\n", i+1, reason(err), err)
		}
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestPayloadFiles -update, then review the golden file)", err)
	}
	if diff := cmp.Diff(string(want), out.String()); diff != "" {
		t.Errorf("%s: canonical records differ from %s (-golden +now):\n%s", name, golden, diff)
	}
}

// FuzzParse feeds the format detection and every decoder arbitrary lines, seeded with the
// real payloads: no panic, every record returned is valid, and a line either gives records
// or says why not.
func FuzzParse(f *testing.F) {
	for _, name := range formatFiles(f) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			if len(line) > 0 && len(line) < 16<<10 {
				f.Add(line, strings.Contains(name, "user"))
			}
		}
	}
	f.Add([]byte(`{"data":{"delete":{"tweet":{"id":"5","author_id":"6"},"event_at":"2022-01-01T00:00:00.000Z"}}}`), false)
	f.Add([]byte(`{"data":{"user_suspend":{"user":{"id":"6"},"event_at":"2022-01-01T00:00:00.000Z"}}}`), false)
	f.Add([]byte(`{"verb":"delete","object":{"id":"tag:search.twitter.com,2005:5"},"actor":{"id":"id:twitter.com:6"}}`), false)
	f.Add([]byte(`{"data":[{"id":"1","text":"x","created_at":"2022-01-01T00:00:00Z","referenced_tweets":[{"type":"retweeted","id":"2"}]}]}`), false)
	f.Fuzz(func(t *testing.T, line []byte, users bool) {
		h := Hints{UserCompliance: users, Now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
		recs, err := h.Parse(line)
		if err == nil && len(recs) == 0 {
			t.Fatalf("no records and no error for %q", line)
		}
		if err != nil && reason(err) == "other" {
			t.Fatalf("rejection without a counted reason: %v", err)
		}
		for _, r := range recs {
			if verr := r.Validate(); verr != nil {
				t.Fatalf("invalid record %+v: %v", r, verr)
			}
			if _, eerr := tweet.Encode(r); eerr != nil {
				t.Fatalf("record %+v does not encode: %v", r, eerr)
			}
		}
	})
}
