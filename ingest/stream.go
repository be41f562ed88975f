package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/dghubble/go-twitter/twitter"
	"github.com/dghubble/oauth1"
)

// StreamConfig takes tweets from Twitter's v1.1 streaming API (through go-twitter) instead
// of files. The stream is read until the context ends; when it drops or is refused, the
// ingester reconnects with exponential backoff.
type StreamConfig struct {
	// Endpoint is "filter" (statuses/filter, needs Track, Follow or Locations) or "sample"
	// (statuses/sample). Default "filter".
	Endpoint string
	// Track, Follow and Languages are the filter's parameters (keywords, user ids, BCP 47
	// language codes); Languages also applies to the sample stream.
	Track, Follow, Languages []string
	// Credentials authenticate the requests: OAuth 1.0a user context (all four fields),
	// or an app-only bearer token.
	Credentials Credentials
	// BaseURL, when set, replaces https://stream.twitter.com in request URLs (a compatible
	// proxy, or a test server). Requests are signed for the original URL.
	BaseURL string
}

// Credentials are Twitter API credentials.
type Credentials struct {
	ConsumerKey, ConsumerSecret, AccessToken, AccessSecret string
	BearerToken                                            string
}

func (s *StreamConfig) validate() error {
	switch s.Endpoint {
	case "", "filter":
		if len(s.Track) == 0 && len(s.Follow) == 0 {
			return errors.New("ingest: the filter stream needs keywords to track or users to follow")
		}
	case "sample":
	default:
		return fmt.Errorf("ingest: unknown stream endpoint %q (filter or sample)", s.Endpoint)
	}
	c := s.Credentials
	oauth := c.ConsumerKey != "" && c.ConsumerSecret != "" && c.AccessToken != "" && c.AccessSecret != ""
	if !oauth && c.BearerToken == "" {
		return errors.New("ingest: the stream needs OAuth 1.0a credentials (consumer key and secret, access token and secret) or a bearer token")
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("ingest: stream base URL %q is not an absolute URL", s.BaseURL)
		}
	}
	return nil
}

// streamSource names the live stream where a file name is expected (logs, DLQ headers).
const streamSource = "stream:"

// httpClient builds the authenticating client, with requests redirected to BaseURL.
func (s *StreamConfig) httpClient() *http.Client {
	var base http.RoundTripper = http.DefaultTransport
	if s.BaseURL != "" {
		u, _ := url.Parse(s.BaseURL)
		base = rewriteHost{to: u, base: base}
	}
	c := s.Credentials
	if c.BearerToken != "" && c.AccessToken == "" {
		return &http.Client{Transport: bearer{token: c.BearerToken, base: base}}
	}
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: base})
	return oauth1.NewConfig(c.ConsumerKey, c.ConsumerSecret).Client(ctx, oauth1.NewToken(c.AccessToken, c.AccessSecret))
}

// rewriteHost sends requests to another scheme and host (after they were signed).
type rewriteHost struct {
	to   *url.URL
	base http.RoundTripper
}

func (r rewriteHost) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.to.Scheme, r.to.Host
	req.Host = r.to.Host
	return r.base.RoundTrip(req)
}

// bearer adds an app-only bearer token.
type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(req)
}

// Reconnection backoff of the live stream: doubled after each attempt that delivered
// nothing, reset by one that delivered messages.
const (
	streamBackoffMin = time.Second
	streamBackoffMax = 2 * time.Minute
)

// readStream reads the live stream until ctx ends, calling fn with each message as a JSON
// line (tweets as v1.1 JSON, other stream events in their stream envelope, so that they are
// decoded, counted and dead-lettered like lines of a file), and flush whenever the stream
// has nothing more pending, so that a slow stream's tweets are not held back.
func (in *Ingester) readStream(ctx context.Context, fn func(lineNo int, line []byte) error, flush func() error) error {
	sc := in.cfg.Stream
	client := twitter.NewClient(sc.httpClient())
	backoff := streamBackoffMin
	lineNo := 0
	for {
		var stream *twitter.Stream
		var err error
		if sc.Endpoint == "sample" {
			stream, err = client.Streams.Sample(&twitter.StreamSampleParams{Language: sc.Languages, StallWarnings: twitter.Bool(true)})
		} else {
			stream, err = client.Streams.Filter(&twitter.StreamFilterParams{Track: sc.Track, Follow: sc.Follow, Language: sc.Languages, StallWarnings: twitter.Bool(true)})
		}
		got := 0
		if err == nil {
			in.log.Info("stream connected", "endpoint", sc.Endpoint)
			got, err = in.drainStream(ctx, stream, &lineNo, fn, flush)
			stream.Stop()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if got > 0 {
			backoff = streamBackoffMin
		}
		if err != nil {
			return err
		}
		in.mu.Lock()
		in.stats.Reconnects++
		in.mu.Unlock()
		in.log.Warn("stream ended; reconnecting", "messages", got, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-in.cfg.Clock.After(backoff):
		}
		backoff = min(2*backoff, streamBackoffMax)
	}
}

// drainStream hands one connection's messages on until the stream ends. Only a failure of
// fn (the context ending, a dead-letter write that cannot be retried) is returned as an
// error; the stream ending is not.
func (in *Ingester) drainStream(ctx context.Context, stream *twitter.Stream, lineNo *int, fn func(int, []byte) error, flush func() error) (int, error) {
	got := 0
	for {
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case msg, ok := <-stream.Messages:
			if !ok {
				return got, flush()
			}
			if err, isErr := msg.(error); isErr {
				in.log.Warn("stream error", "err", err)
				continue
			}
			line, err := streamLine(msg)
			if err != nil {
				in.log.Warn("stream message cannot be encoded", "type", fmt.Sprintf("%T", msg), "err", err)
				continue
			}
			got++
			*lineNo++
			in.mu.Lock()
			in.stats.Lines++
			in.mu.Unlock()
			if err := fn(*lineNo, line); err != nil {
				return got, err
			}
			if len(stream.Messages) == 0 {
				if err := flush(); err != nil {
					return got, err
				}
			}
		}
	}
}

// streamLine turns a decoded stream message back into the JSON line the stream carried.
func streamLine(msg any) ([]byte, error) {
	switch m := msg.(type) {
	case *twitter.Tweet:
		return json.Marshal(m)
	case *twitter.StatusDeletion:
		return json.Marshal(map[string]any{"delete": map[string]any{"status": m}})
	case *twitter.LocationDeletion:
		return json.Marshal(map[string]any{"scrub_geo": m})
	case *twitter.StreamLimit:
		return json.Marshal(map[string]any{"limit": m})
	case *twitter.StatusWithheld:
		return json.Marshal(map[string]any{"status_withheld": m})
	case *twitter.UserWithheld:
		return json.Marshal(map[string]any{"user_withheld": m})
	case *twitter.StreamDisconnect:
		return json.Marshal(map[string]any{"disconnect": m})
	case *twitter.StallWarning:
		return json.Marshal(map[string]any{"warning": m})
	}
	return json.Marshal(msg)
}
