package warehouse

// ConsoleExample is an example query of the dashboard's SQL console.
type ConsoleExample struct {
	Title string `json:"title"`
	SQL   string `json:"sql"`
}

// ConsoleExamples are the queries of the README's SQL cookbook, in its order, with their
// comments as titles (a test keeps the two the same).
var ConsoleExamples = []ConsoleExample{
	{"Trending hashtags in the last hour of data", `SELECT hashtag, sum(tweets) AS n
FROM hashtag_minute
WHERE minute >= (SELECT max(minute) FROM hashtag_minute) - INTERVAL 1 HOUR
GROUP BY hashtag ORDER BY n DESC LIMIT 10`},
	{"Rising hashtags: the last 30 minutes against the 30 before", `WITH (SELECT max(minute) FROM hashtag_minute) AS t
SELECT hashtag,
       sumIf(tweets, minute >= t - INTERVAL 30 MINUTE) AS recent,
       sumIf(tweets, minute < t - INTERVAL 30 MINUTE) AS before
FROM hashtag_minute
WHERE minute >= t - INTERVAL 60 MINUTE
GROUP BY hashtag HAVING recent >= 5
ORDER BY recent / (before + 1) DESC LIMIT 10`},
	{"Sentiment by hashtag (hashtags with at least 50 tweets), most negative first", `SELECT hashtag, sum(tweets) AS n, round(sum(sentiment_sum) / sum(tweets), 3) AS avg_sentiment
FROM hashtag_minute GROUP BY hashtag HAVING n >= 50 ORDER BY avg_sentiment LIMIT 10`},
	{"The most positive and the most negative original tweets", `SELECT user_screen_name, sentiment, text FROM tweets WHERE retweet_of = 0 ORDER BY sentiment DESC LIMIT 5`},
	{"The most positive and the most negative original tweets", `SELECT user_screen_name, sentiment, text FROM tweets WHERE retweet_of = 0 ORDER BY sentiment ASC LIMIT 5`},
	{"Hourly volume and mean sentiment", `SELECT toStartOfHour(created_at) AS hour, count() AS tweets, round(avg(sentiment), 3) AS sentiment
FROM tweets GROUP BY hour ORDER BY hour`},
	{"The sentiment mix, per language", `SELECT lang, sentiment_label, sum(tweets) AS n
FROM sentiment_minute GROUP BY lang, sentiment_label ORDER BY lang, sentiment_label`},
	{"Each sentiment model's tweets and mean score, the ETL's and the rescored (a tweet the rescore scored and that was withdrawn after is still counted here; the dashboard leaves it out)", `SELECT sentiment_model, sum(tweets) AS n, round(sum(sentiment_sum) / sum(tweets), 3) AS avg_sentiment
FROM model_sentiment_minute GROUP BY sentiment_model ORDER BY n DESC`},
	{"Where the ETL's model and the rescored learned model disagree most", `SELECT id, sentiment_model, sentiment, model, rescored, text
FROM (SELECT id, sentiment_model, sentiment, text FROM tweets)
ANY INNER JOIN (SELECT id, model, sentiment AS rescored FROM tweet_scores) USING id
ORDER BY abs(sentiment - rescored) DESC LIMIT 10`},
	{"Hashtags that go together", `SELECT a, b, count() AS n
FROM (SELECT arrayJoin(hashtags) AS a, hashtags FROM tweets) ARRAY JOIN hashtags AS b
WHERE a < b GROUP BY a, b ORDER BY n DESC LIMIT 10`},
	{"Most mentioned users", `SELECT mention, count() AS n FROM tweets ARRAY JOIN mentions AS mention
GROUP BY mention ORDER BY n DESC LIMIT 10`},
	{"Most retweeted tweets", `SELECT retweet_of, count() AS retweets, any(text) AS text
FROM tweets WHERE retweet_of != 0 GROUP BY retweet_of ORDER BY retweets DESC LIMIT 10`},
	{"Words of the word cloud for one hashtag", `SELECT word, count() AS n FROM tweets ARRAY JOIN words AS word
WHERE has(hashtags, 'outage') GROUP BY word ORDER BY n DESC LIMIT 20`},
	{"The busiest authors and their reach", `SELECT user_screen_name, count() AS tweets, max(user_followers) AS followers
FROM tweets GROUP BY user_screen_name ORDER BY tweets DESC LIMIT 10`},
	{"Where the ETL is: the last loaded offset of each partition", `SELECT topic, partition, max(last_offset) AS last_loaded FROM loaded_batches GROUP BY topic, partition ORDER BY topic, partition`},
	{"The people, places and organisations named most in the last day of data (a sample: each row stands for sampled_every tweets)", `SELECT entity, kind, sum(sampled_every) AS tweets
FROM entities WHERE created_at >= (SELECT max(created_at) FROM entities) - INTERVAL 1 DAY
GROUP BY entity, kind ORDER BY tweets DESC LIMIT 10`},
	{"Cashtags most tweeted about", `SELECT cashtag, count() AS tweets FROM tweets ARRAY JOIN cashtags AS cashtag GROUP BY cashtag ORDER BY tweets DESC LIMIT 10`},
	{"Withdrawn tweets by reason (deleted, protected, suspended, edited, ...)", `SELECT reason, count() AS tweets, sum(retracted) AS were_loaded FROM tweet_deletions GROUP BY reason ORDER BY tweets DESC`},
}
