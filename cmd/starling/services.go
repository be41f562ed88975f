package main

import (
	"context"
	"flag"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/starling-analytics/starling/dashboard"
	"github.com/starling-analytics/starling/etl"
	"github.com/starling-analytics/starling/etl/sentiment"
	"github.com/starling-analytics/starling/ingest"
	"github.com/starling-analytics/starling/internal/cli"
	"github.com/starling-analytics/starling/internal/kafkaclient"
	"github.com/starling-analytics/starling/internal/tweet"
	"github.com/starling-analytics/starling/warehouse"
)

// defaultFeed is the committed sample feed, relative to the repository root.
const defaultFeed = "sample-data/tweets-v1.1.jsonl.gz"

// kafkaFlags registers the Kafka connection flags shared by the clients.
func kafkaFlags(fs *flag.FlagSet, brokers *cli.List, c *kafkaclient.Config) {
	*brokers = kafkaclient.DefaultBrokers()
	fs.Var(brokers, "brokers", "comma-separated Kafka bootstrap addresses (the built-in broker, Kafka or Amazon MSK)")
	fs.BoolVar(&c.TLS, "kafka-tls", false, "connect to the brokers with TLS (Amazon MSK's TLS listener is port 9094, SASL/SCRAM 9096)")
	fs.StringVar(&c.CAFile, "kafka-ca-file", "", "PEM file of certificate authorities for the brokers' certificates (default: the system's)")
	fs.StringVar(&c.CertFile, "kafka-cert-file", "", "PEM client certificate, for mutual TLS")
	fs.StringVar(&c.KeyFile, "kafka-key-file", "", "PEM client key, for mutual TLS")
	fs.BoolVar(&c.InsecureSkipVerify, "kafka-tls-insecure", false, "accept any broker certificate (testing only)")
	fs.StringVar(&c.SASLMechanism, "kafka-sasl-mechanism", "", "SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, or AWS_MSK_IAM (Amazon MSK IAM access control over TLS; credentials and region from the AWS SDK default chain, e.g. AWS_REGION and AWS_PROFILE) (empty: no SASL)")
	fs.StringVar(&c.Username, "kafka-username", "", "SASL user name")
	fs.StringVar(&c.Password, "kafka-password", "", "SASL password")
}

// warehouseFlags registers the ClickHouse connection flags.
func warehouseFlags(fs *flag.FlagSet, c *warehouse.Config, addrs *cli.List) {
	d := warehouse.Config{}.WithDefaults()
	*addrs = d.Addr
	fs.Var(addrs, "clickhouse-addr", "comma-separated ClickHouse native-protocol addresses, host:port")
	fs.StringVar(&c.Database, "clickhouse-database", d.Database, "ClickHouse database holding Starling's tables (created when missing)")
	fs.StringVar(&c.Username, "clickhouse-user", d.Username, "ClickHouse user")
	fs.StringVar(&c.Password, "clickhouse-password", "", "ClickHouse password")
	clusterFlag(fs, c)
}

// clusterFlag registers the ClickHouse cluster setting.
func clusterFlag(fs *flag.FlagSet, c *warehouse.Config) {
	fs.StringVar(&c.Cluster, "clickhouse-cluster", "", "ClickHouse cluster (remote_servers) holding the warehouse on replicated shards: migrate creates the schema ON CLUSTER, the ETL and the dashboard use its Distributed tables; --clickhouse-addr lists some of its servers (empty: one server)")
}

// ingestFlags registers the replay settings.
func ingestFlags(fs *flag.FlagSet, c *ingest.Config, inputs *cli.List) {
	*inputs = cli.List{defaultFeed}
	fs.Var(inputs, "input", "comma-separated tweet files, directories or globs: Twitter API v1.1 or v2 JSON or activity streams, one record or response page a line, format detected per line; plain, gzip, bzip2 or zstd (batch-compliance files whose name contains \"user\" are account events)")
	fs.Float64Var(&c.Speed, "speed", 1, "replay pace against the tweets' own timestamps (60 = a feed minute per second); 0 = as fast as possible")
	fs.Float64Var(&c.Rate, "rate", 0, "replay at this many tweets per second instead of by timestamps (--speed's default pacing then does not apply)")
	fs.StringVar(&c.Checkpoint, "checkpoint", "", "file keeping the position of the last acknowledged tweet; a restarted replay resumes after it")
	fs.BoolVar(&c.DryRun, "dry-run", false, "read and validate the input without producing anything")
	fs.IntVar(&c.Generate, "generate", 0, "replay this many tweets from the sample-data generator instead of --input (with --loop: endlessly), e.g. for load tests with --rate; the generator holds 24 bytes a tweet of this count")
	fs.BoolVar(&c.Loop, "loop", false, "replay the input forever, with fresh tweet ids on each pass")
	fs.BoolVar(&c.KeepTime, "keep-time", false, "keep the tweets' original timestamps in a paced replay (default: stamp them with the moment they are sent)")
	fs.DurationVar(&c.Linger, "linger", ingest.Config{}.WithDefaults().Linger, "how long a produce call waits for more tweets when fewer than a batch are ready (a paced replay's few a millisecond become one request, not one per partition each); negative: send at once")
	fs.BoolVar(&c.Stamp, "stamp", false, "give each tweet, as it is sent, that time and a new snowflake id made from it (for latency measurements)")
}

// streamFlags select Twitter's live stream as the ingester's source.
type streamFlags struct {
	endpoint, baseURL        string
	track, follow, languages cli.List
}

func (f *streamFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.endpoint, "stream", "", "read Twitter's v1.1 live stream instead of files: filter or sample (credentials from TWITTER_CONSUMER_KEY, TWITTER_CONSUMER_SECRET, TWITTER_ACCESS_TOKEN, TWITTER_ACCESS_SECRET, or TWITTER_BEARER_TOKEN)")
	fs.Var(&f.track, "track", "filter stream: comma-separated keywords or hashtags")
	fs.Var(&f.follow, "follow", "filter stream: comma-separated user ids")
	fs.Var(&f.languages, "languages", "stream: comma-separated language codes (e.g. en,es)")
	fs.StringVar(&f.baseURL, "stream-url", "", "send stream requests to this base URL instead of https://stream.twitter.com (a compatible proxy)")
}

// config returns the stream source, or nil when --stream is not given.
func (f *streamFlags) config() *ingest.StreamConfig {
	if f.endpoint == "" {
		return nil
	}
	return &ingest.StreamConfig{
		Endpoint: f.endpoint, Track: f.track, Follow: f.follow, Languages: f.languages, BaseURL: f.baseURL,
		Credentials: ingest.Credentials{
			ConsumerKey: os.Getenv("TWITTER_CONSUMER_KEY"), ConsumerSecret: os.Getenv("TWITTER_CONSUMER_SECRET"),
			AccessToken: os.Getenv("TWITTER_ACCESS_TOKEN"), AccessSecret: os.Getenv("TWITTER_ACCESS_SECRET"),
			BearerToken: os.Getenv("TWITTER_BEARER_TOKEN"),
		},
	}
}

// isTerminal reports whether f is a character device (a terminal, not a file or pipe).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// rateReplacesSpeed turns the default pacing by timestamps (--speed 1) off when --rate is
// given and --speed is not: `--rate 3000` alone means 3,000 tweets a second. Both given
// is a conflict ingest.Config.Validate reports.
func rateReplacesSpeed(fs *flag.FlagSet, c *ingest.Config) {
	if c.Rate <= 0 {
		return
	}
	_, speedGiven := os.LookupEnv(cli.EnvName("speed"))
	fs.Visit(func(f *flag.Flag) { speedGiven = speedGiven || f.Name == "speed" })
	if !speedGiven {
		c.Speed = 0
	}
}

// ingestInputs drops the default feed when the generator is the source.
func ingestInputs(c *ingest.Config, inputs cli.List) []string {
	if c.Generate > 0 && len(inputs) == 1 && inputs[0] == defaultFeed {
		return nil
	}
	return inputs
}

// namesFlags registers the pipeline's topics and consumer groups (tweet.Names): the ETL
// runs on them and the dashboard watches them, so both take the same flags and variables.
func namesFlags(fs *flag.FlagSet, topic, dlq, group, entities *string) {
	fs.StringVar(topic, "topic", tweet.TopicTweets, "Kafka topic of the canonical tweets")
	fs.StringVar(dlq, "dlq-topic", tweet.TopicDLQ, "Kafka topic of the records the pipeline could not load")
	fs.StringVar(group, "group", tweet.GroupETL, "Kafka consumer group shared by ETL replicas")
	fs.StringVar(entities, "entities-group", tweet.GroupEntities, "Kafka consumer group of the ETL's entity sampler")
}

// etlFlags registers the loader's names and batching settings.
func etlFlags(fs *flag.FlagSet, c *etl.Config) {
	d := etl.Config{}.WithDefaults()
	namesFlags(fs, &c.Topic, &c.DLQTopic, &c.GroupID, &c.EntitiesGroup)
	fs.StringVar(&c.SentimentModel, "sentiment-model", d.SentimentModel, "sentiment model scoring the tweets ("+strings.Join(sentiment.Models(), ", ")+"); each row records it, and `starling rescore` adds another's scores")
	fs.IntVar(&c.BatchSize, "batch-size", d.BatchSize, "flush a partition's batch at this many records (it also bounds the memory a partition holds)")
	fs.DurationVar(&c.FlushInterval, "flush-interval", d.FlushInterval, "flush batches at ticks of this interval: a record waits at most this long for its batch while its partition keeps up")
	fs.DurationVar(&c.MaxFlushInterval, "max-flush-interval", 0, "while a tick gathers fewer than 500 records (below 1,000 tweets/s at 500ms) the tick lengthens to gather that many, and while INSERTs take over half of it, it doubles, up to this, so ClickHouse makes and merges fewer parts; equal to --flush-interval, the tick is fixed (default 2s, or --flush-interval when that is longer)")
	fs.BoolVar(&c.Entities, "entities", true, "also run the \"entities\" consumer group: named-entity recognition on a sample of the English tweets")
	fs.Float64Var(&c.EntitiesCPU, "entities-cpu", d.EntitiesCPU, "share of a core the entities group may use; it samples more sparsely to keep up")
}

func runIngest(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling ingest", "Replays tweet files into topic \"tweets\" as canonical records; bad lines go to \"tweets.dlq\".", stderr)
	var cfg ingest.Config
	var brokers, inputs cli.List
	var lf cli.Log
	kafkaFlags(fs, &brokers, &cfg.Kafka)
	ingestFlags(fs, &cfg, &inputs)
	fs.StringVar(&cfg.Topic, "topic", tweet.TopicTweets, "Kafka topic of the canonical tweets")
	fs.StringVar(&cfg.DLQTopic, "dlq-topic", tweet.TopicDLQ, "Kafka topic of the lines that are not tweets")
	var sf streamFlags
	sf.register(fs)
	metricsAddr := fs.String("metrics-addr", ":9309", "HTTP address serving the ingester's Prometheus metrics at /metrics (empty: off)")
	noProgress := fs.Bool("no-progress", false, "log progress every 5 seconds even on a terminal, instead of a progress bar")
	logger, err := lf.Parse(fs, args, stderr)
	if err != nil {
		return err
	}
	rateReplacesSpeed(fs, &cfg)
	cfg.Brokers, cfg.Inputs, cfg.Logger = brokers, ingestInputs(&cfg, inputs), logger.With("service", "ingest")
	if cfg.Stream = sf.config(); cfg.Stream != nil && len(inputs) == 1 && inputs[0] == defaultFeed {
		cfg.Inputs = nil
	}
	if f, ok := stderr.(*os.File); ok && !*noProgress && isTerminal(f) {
		cfg.Progress = stderr
	}
	in, err := ingest.New(cfg)
	if err != nil {
		return err
	}
	if *metricsAddr == "" {
		return in.Run(ctx)
	}
	g, gctx := errgroup.WithContext(ctx)
	runCtx, stopMetrics := context.WithCancel(gctx)
	g.Go(func() error { return serveMetrics(runCtx, *metricsAddr, in.MetricsHandler(), cfg.Logger) })
	g.Go(func() error {
		defer stopMetrics() // a finished replay ends the process
		return in.Run(gctx)
	})
	return g.Wait()
}

func runETL(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling etl", "Consumes canonical tweets, scores sentiment, and loads them into ClickHouse effectively once.", stderr)
	var cfg etl.Config
	var brokers, addrs cli.List
	var lf cli.Log
	kafkaFlags(fs, &brokers, &cfg.Kafka)
	warehouseFlags(fs, &cfg.Warehouse, &addrs)
	etlFlags(fs, &cfg)
	metricsAddr := fs.String("metrics-addr", ":9310", "HTTP address serving the ETL's Prometheus metrics at /metrics (empty: off)")
	logger, err := lf.Parse(fs, args, stderr)
	if err != nil {
		return err
	}
	cfg.Brokers, cfg.Warehouse.Addr, cfg.Logger = brokers, addrs, logger.With("service", "etl")
	cfg.Warehouse.Logger = cfg.Logger
	if err := warehouse.MigrateWaiting(ctx, cfg.Warehouse, 2*time.Minute); err != nil {
		return err
	}
	e, err := etl.New(cfg)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	if *metricsAddr != "" {
		g.Go(func() error { return serveMetrics(gctx, *metricsAddr, e.MetricsHandler(), cfg.Logger) })
	}
	g.Go(func() error { return e.Run(gctx) })
	return g.Wait()
}

// dashboardFlags registers the dashboard's own settings: where it listens, its access
// token and the SQL console's read-only ClickHouse user.
func dashboardFlags(fs *flag.FlagSet, c *dashboard.Config, addr string) {
	fs.StringVar(&c.Addr, "dashboard-addr", addr, "HTTP address the dashboard listens on")
	fs.StringVar(&c.Token, "dashboard-token", "", "access token required by every page and API call (at least 8 characters; empty: none); "+
		"the SQL console needs one when the dashboard listens beyond loopback")
	fs.StringVar(&c.ConsoleUser, "console-user", "", "read-only ClickHouse user (a profile with readonly = 1) the SQL console runs as; empty: the console is off")
	fs.StringVar(&c.ConsolePassword, "console-password", "", "password of --console-user")
}

func runDashboard(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling dashboard", "Serves the web dashboard and its JSON API over the warehouse, the pipeline's health from Kafka, and the SQL console.", stderr)
	var cfg dashboard.Config
	var addrs, brokers cli.List
	var lf cli.Log
	dashboardFlags(fs, &cfg, dashboard.Config{}.WithDefaults().Addr)
	namesFlags(fs, &cfg.Names.Topic, &cfg.Names.DLQTopic, &cfg.Names.Group, &cfg.Names.EntitiesGroup)
	warehouseFlags(fs, &cfg.Warehouse, &addrs)
	kafkaFlags(fs, &brokers, &cfg.Kafka)
	fs.Lookup("brokers").Usage += "; the pipeline health view reads their topics and consumer groups (empty: none)"
	logger, err := lf.Parse(fs, args, stderr)
	if err != nil {
		return err
	}
	cfg.Warehouse.Addr, cfg.Brokers, cfg.Logger = addrs, brokers, logger.With("service", "dashboard")
	return dashboard.Run(ctx, cfg)
}

func runMigrate(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := cli.NewFlagSet("starling migrate", "Applies the warehouse schema migrations (idempotent; safe to run from several processes) and exits.", stderr)
	var cfg warehouse.Config
	var addrs cli.List
	var lf cli.Log
	warehouseFlags(fs, &cfg, &addrs)
	fs.StringVar(&cfg.Cluster, "cluster", "", "short for --clickhouse-cluster")
	logger, err := lf.Parse(fs, args, stderr)
	if err != nil {
		return err
	}
	cfg.Addr, cfg.Logger = addrs, logger.With("service", "migrate")
	return warehouse.MigrateWaiting(ctx, cfg, 2*time.Minute)
}
