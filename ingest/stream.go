package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
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

// streamSource reads the live stream until the context ends, handing on each message as a
// JSON line: tweets as v1.1 JSON, other stream events in their stream envelope, so that
// they are decoded, counted and dead-lettered like lines of a file. A connection that
// drops or is refused is made again after a back-off.
type streamSource struct {
	cfg         *StreamConfig
	clock       Clock
	log         *slog.Logger
	reconnected func() // called at each reconnection

	lines chan Line
	stop  context.CancelFunc
	done  chan struct{}
}

// Stream messages waiting to be read, at most.
const streamBuffer = 4096

func (s *streamSource) Name() string { return "stream:" }

// Open makes the first request: one go-twitter refuses (a bad parameter) is an error.
func (s *streamSource) Open(ctx context.Context, _ int) error {
	client := twitter.NewClient(s.cfg.httpClient())
	stream, err := s.request(client)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	ctx, s.stop = context.WithCancel(ctx)
	s.lines, s.done = make(chan Line, streamBuffer), make(chan struct{})
	go func() {
		defer close(s.done)
		s.connect(ctx, client, stream)
	}()
	return nil
}

// request starts a request of the stream; go-twitter connects, and reconnects after
// network errors, in the background.
func (s *streamSource) request(client *twitter.Client) (*twitter.Stream, error) {
	if s.cfg.Endpoint == "sample" {
		return client.Streams.Sample(&twitter.StreamSampleParams{Language: s.cfg.Languages, StallWarnings: twitter.Bool(true)})
	}
	return client.Streams.Filter(&twitter.StreamFilterParams{Track: s.cfg.Track, Follow: s.cfg.Follow, Language: s.cfg.Languages, StallWarnings: twitter.Bool(true)})
}

// Read waits for a message, then returns it with every other one already arrived, so
// that a slow stream's tweets are not held back.
func (s *streamSource) Read(ctx context.Context) ([]Line, error) {
	var lines []Line
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, io.EOF // Close was called
	case l := <-s.lines:
		lines = append(lines, l)
	}
	for len(lines) < readLines {
		select {
		case l := <-s.lines:
			lines = append(lines, l)
		default:
			return lines, nil
		}
	}
	return lines, nil
}

func (s *streamSource) Close() error {
	if s.stop != nil {
		s.stop()
		<-s.done
	}
	return nil
}

// Reconnection backoff of the live stream: doubled after each attempt that delivered
// nothing, reset by one that delivered messages.
const (
	streamBackoffMin = time.Second
	streamBackoffMax = 2 * time.Minute
)

// connect reads stream, and the stream again whenever it ends, until ctx ends.
func (s *streamSource) connect(ctx context.Context, client *twitter.Client, stream *twitter.Stream) {
	backoff := streamBackoffMin
	lineNo := 0
	for {
		s.log.Info("stream connected", "endpoint", s.cfg.Endpoint)
		got := s.drain(ctx, stream, &lineNo)
		stream.Stop()
		if ctx.Err() != nil {
			return
		}
		if got > 0 {
			backoff = streamBackoffMin
		}
		if s.reconnected != nil {
			s.reconnected()
		}
		s.log.Warn("stream ended; reconnecting", "messages", got, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(backoff):
		}
		backoff = min(2*backoff, streamBackoffMax)
		var err error
		if stream, err = s.request(client); err != nil {
			s.log.Error("stream request refused", "err", err) // the first one was taken: cannot happen
			return
		}
	}
}

// drain hands one connection's messages on until the stream ends or ctx does, and returns
// how many it handed on.
func (s *streamSource) drain(ctx context.Context, stream *twitter.Stream, lineNo *int) int {
	got := 0
	for {
		select {
		case <-ctx.Done():
			return got
		case msg, ok := <-stream.Messages:
			if !ok {
				return got
			}
			if err, isErr := msg.(error); isErr {
				s.log.Warn("stream error", "err", err)
				continue
			}
			line, err := streamLine(msg)
			if err != nil {
				s.log.Warn("stream message cannot be encoded", "type", fmt.Sprintf("%T", msg), "err", err)
				continue
			}
			got++
			*lineNo++
			select {
			case s.lines <- Line{No: *lineNo, Data: line}:
			case <-ctx.Done():
				return got
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
