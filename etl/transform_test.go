package etl

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

func newTestETL(t testing.TB) *ETL {
	t.Helper()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func message(t testing.TB, r tweet.Record) kafka.Message {
	t.Helper()
	v, err := tweet.Encode(r)
	if err != nil {
		t.Fatal(err)
	}
	return kafka.Message{Topic: "tweets", Partition: 3, Offset: 42, Key: []byte(r.ID), Value: v}
}

func TestTransform(t *testing.T) {
	t.Parallel()
	e := newTestETL(t)
	at := time.Date(2026, 5, 1, 10, 0, 30, 0, time.FixedZone("CEST", 2*3600))
	row, _, err := e.transform(&decoder{}, message(t, tweet.Record{
		ID: "1790000000000000001", CreatedAt: at, Lang: "en",
		Text:     "RT @NASA: I LOVE this launch!!! #Space #space #SpaceX https://t.co/x",
		User:     tweet.User{ID: "11348282", ScreenName: "NASA", Followers: 100},
		Hashtags: []string{"Space", "space", "SpaceX"}, Mentions: []string{"NASA"}, URLs: []string{"https://nasa.gov"},
		RetweetOf: "1789999999999999999", SourceFormat: tweet.FormatV11,
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := warehouse.TweetRow{
		ID: 1790000000000000001, CreatedAt: at.UTC(), Lang: "en",
		Text:   "RT @NASA: I LOVE this launch!!! #Space #space #SpaceX https://t.co/x",
		UserID: 11348282, UserScreenName: "NASA", UserFollowers: 100,
		Hashtags: []string{"space", "spacex"}, Mentions: []string{"nasa"}, URLs: []string{"https://nasa.gov"},
		Words:     []string{"love", "launch"},
		RetweetOf: 1789999999999999999, SourceFormat: tweet.FormatV11,
		SentimentLabel: warehouse.LabelPositive, SentimentModel: "linear-v1",
		KafkaTopic: "tweets", KafkaPartition: 3, KafkaOffset: 42,
	}
	if row.Sentiment <= 0.5 {
		t.Errorf("sentiment %v, want strongly positive", row.Sentiment)
	}
	want.Sentiment = row.Sentiment
	if !reflect.DeepEqual(row, want) {
		t.Errorf("transform =\n%+v\nwant\n%+v", row, want)
	}
}

func TestTransformRejectsWhatCannotBeLoaded(t *testing.T) {
	t.Parallel()
	e := newTestETL(t)
	ok := tweet.Record{ID: "5", CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), SourceFormat: tweet.FormatGenerator}
	cases := map[string]kafka.Message{
		"not json":   {Value: []byte("{")},
		"no value":   {},
		"id text":    {Value: []byte(`{"schema":1,"id":"x1","created_at":"2026-01-01T00:00:00Z"}`)},
		"id zero":    message(t, func() tweet.Record { r := ok; r.ID = "0"; return r }()),
		"id too big": {Value: []byte(`{"schema":1,"id":"18446744073709551616","created_at":"2026-01-01T00:00:00Z"}`)},
		"user id":    message(t, func() tweet.Record { r := ok; r.User.ID = "bob"; return r }()),
		"retweet":    message(t, func() tweet.Record { r := ok; r.RetweetOf = "-1"; return r }()),
		"quote":      message(t, func() tweet.Record { r := ok; r.QuoteOf = "1.5"; return r }()),
		"1969":       message(t, func() tweet.Record { r := ok; r.CreatedAt = time.Date(1969, 1, 1, 0, 0, 0, 0, time.UTC); return r }()),
		"2200":       message(t, func() tweet.Record { r := ok; r.CreatedAt = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC); return r }()),
	}
	for name, m := range cases {
		_, _, err := e.transform(&decoder{}, m)
		if err == nil {
			t.Errorf("%s: transform accepted it", name)
			continue
		}
		if !errors.Is(err, tweet.ErrInvalid) && !errors.Is(err, warehouse.ErrInvalidRow) {
			t.Errorf("%s: error %v wraps neither tweet.ErrInvalid nor warehouse.ErrInvalidRow", name, err)
		}
	}
	if _, _, err := e.transform(&decoder{}, message(t, ok)); err != nil {
		t.Errorf("minimal record: %v", err)
	}
}

func TestLowerUnique(t *testing.T) {
	t.Parallel()
	got := lowerUnique([]string{"Go", "go", " GO ", "", "Rust", "ÉTÉ", "été"})
	if want := []string{"go", "rust", "été"}; !reflect.DeepEqual(got, want) {
		t.Errorf("lowerUnique = %q, want %q", got, want)
	}
}

func TestDeadLetterKeepsRecordAndAddsOrigin(t *testing.T) {
	t.Parallel()
	m := kafka.Message{Topic: "tweets", Partition: 2, Offset: 99, Key: []byte("k"), Value: []byte("v"),
		Headers: []kafka.Header{{Key: "trace", Value: []byte("t1")}}}
	d := deadLetter(m, errors.New("bad record"))
	h := map[string]string{}
	for _, x := range d.Headers {
		h[x.Key] = string(x.Value)
	}
	if string(d.Key) != "k" || string(d.Value) != "v" || d.Topic != "" ||
		h["trace"] != "t1" || h[tweet.HeaderReason] != "bad record" || h[tweet.HeaderTopic] != "tweets" ||
		h[tweet.HeaderPartition] != "2" || h[tweet.HeaderOffset] != "99" {
		t.Errorf("dead letter = %+v (headers %v)", d, h)
	}
	if len(m.Headers) != 1 {
		t.Error("deadLetter changed the original message's headers")
	}
}

// BenchmarkTransform measures the per-record work of the ETL: JSON decoding, sentiment,
// words, row building.
func BenchmarkTransform(b *testing.B) {
	e := newTestETL(b)
	m := message(b, tweet.Record{
		ID: "1790000000000000001", CreatedAt: time.Date(2026, 5, 1, 10, 0, 30, 0, time.UTC), Lang: "en",
		Text:     "Just watched the new episode and it was ABSOLUTELY amazing!!! Can't wait for next week :) #tv @hbo ",
		User:     tweet.User{ID: "11348282", ScreenName: "someone", Followers: 1234},
		Hashtags: []string{"tv"}, Mentions: []string{"hbo"}, SourceFormat: tweet.FormatGenerator,
	})
	b.SetBytes(int64(len(m.Value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := e.transform(&decoder{}, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// TestTransformWordsOwnTheirSlice: the word lists of tweets decoded one after another are
// cut from one slab, and each keeps its own words, however many tweets follow it, also
// past the slab's end and for a tweet of more words than a slab has room for.
func TestTransformWordsOwnTheirSlice(t *testing.T) {
	t.Parallel()
	e := newTestETL(t)
	dec := &decoder{}
	var rows []warehouse.TweetRow
	var long []string // more distinct words than the room left at a slab's end
	for j := range 100 {
		long = append(long, "z"+string(rune('a'+j%26))+string(rune('a'+j/26))+"q")
	}
	texts := []string{"happy launch today", "sad rain again", strings.Join(long, " ")}
	for i := range 3000 {
		text := fmt.Sprintf("%s number%d", texts[i%len(texts)], i)
		row, _, err := e.transform(dec, message(t, tweet.Record{ID: strconv.Itoa(i + 1), CreatedAt: time.Unix(1700000000, 0), Lang: "en", Text: text}))
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	for i, r := range rows {
		_, _, want := e.scorer.Analyze(r.Text, nil)
		if !slices.Equal(r.Words, want) {
			t.Fatalf("tweet %d: words %q, want %q", i, r.Words, want)
		}
		if cap(r.Words) != len(r.Words) {
			t.Fatalf("tweet %d: its words' slice has room to grow into the next tweet's", i)
		}
	}
}
