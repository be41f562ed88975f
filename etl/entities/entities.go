// Package entities finds the people, places and organisations that English tweets name,
// with the named-entity recogniser of github.com/jdkato/prose/v2.
//
// It is the library behind the "entities" consumer group, which reads canonical tweets
// from topic "tweets" beside the ETL and stores what Extract finds in the warehouse. NER
// is slow: prose tags and classifies every token with string-keyed feature maps, and a
// core extracts under a thousand tweets a second (BenchmarkExtract), where the ETL loads
// hundreds of thousands. So that consumer samples tweets rather than reading every one,
// and the ETL does not wait for it.
//
// Cashtags ("$AAPL") are organisations by definition and need no model. prose's model was
// trained on edited news text, so Extract first rewrites a tweet into something closer to
// it (see clean): no retweet prefix, URLs, @mentions or cashtags, hashtags as words,
// shouting and Title Case headlines recased. A name does not run across a hashtag's edge,
// and a hashtag made of common words only (#StormWatch, #LaunchDay) is a topic, not a
// name. It then filters what the model gets
// wrong on tweets most often: capitalised interjections and common words that start a
// sentence ("Hey", "Great day in London"), Twitter slang in capitals (RT, LOL, WTF),
// laughter, weekdays and months. What is left is still noisy: the model confuses people
// with places, finds organisations rarely, and needs capitals to find a name at all.
package entities

import (
	"fmt"
	"strings"

	"github.com/jdkato/prose/v2"
	"github.com/starling-analytics/starling/internal/tweet"
)

// Kind is the kind of thing an Entity names. Its values are the strings stored in the
// warehouse.
type Kind string

// The kinds of entity Extract reports.
const (
	Person       Kind = "person"
	Place        Kind = "place"
	Organisation Kind = "organisation"
)

// Entity is a named thing a text mentions.
type Entity struct {
	// Text is the name as the cleaned text writes it, without punctuation around it:
	// "Barack Obama", "Washington, DC", "Comedy Awards" for #ComedyAwards, "Obama" for a
	// shouted OBAMA.
	Text string
	// Kind says whether it is a person, a place or an organisation.
	Kind Kind
}

// kinds maps the labels of prose's built-in model onto Kind. The model (a maximum-entropy
// classifier after NLTK's, with the labels of the ACE corpus) emits PERSON, GPE
// (countries, cities, states), GSP (geo-socio-political groups), LOCATION (regions,
// mountains, rivers), FACILITY (buildings, airports, stadiums) and ORGANIZATION; on tweets
// nearly all it finds are PERSON and GPE. Every label is one of the three kinds; Extract
// drops any other label a later model might add.
var kinds = map[string]Kind{
	"PERSON":       Person,
	"GPE":          Place,
	"GSP":          Place,
	"LOCATION":     Place,
	"FACILITY":     Place,
	"ORGANIZATION": Organisation,
}

// Extractor finds entities in tweets. Create one with New and share it: it holds prose's
// model (about 0.4 s to load, 40 MB of heap), and is safe for concurrent use by any number
// of goroutines without locking. prose only reads the model while it tags and classifies (its
// weights, tag dictionary and feature mapping are maps written once, when they are
// decoded), and every call builds its own prose.Document, so there is no shared mutable
// state to guard and concurrent calls run in parallel on separate cores.
type Extractor struct {
	// model is prose's built-in tagger and entity classifier, decoded once by New and
	// handed to every document; without prose.UsingModel, prose.NewDocument decodes it
	// anew for each text.
	model *prose.Model
	// lex is the English vocabulary of prose's tagger (see loadLexicon).
	lex lexicon
}

// New loads prose's built-in English model into a new Extractor.
func New() (x *Extractor, err error) {
	// prose reports a model that fails to decode by panicking; its model is compiled into
	// the binary, so a failure here means a broken build, but New still returns it as an
	// error rather than taking the consumer down with a panic from a library.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("load prose model: %v", r)
		}
	}()
	// ModelFromData without data sources is prose's default model (tagger and entity
	// extracter) under a name of our choosing.
	model := prose.ModelFromData("en-v2.0.0")
	lex, err := loadLexicon()
	if err != nil {
		return nil, err
	}
	return &Extractor{model: model, lex: lex}, nil
}

// Extract returns the people, places and organisations that text names, each once
// (compared case-insensitively, the first spelling kept): first its cashtags ("$AAPL"),
// which are organisations by definition, in capitals ("AAPL"), then what the model finds,
// each in order of appearance. It returns nil for a text that names none.
//
// lang is the tweet's language as Twitter detected it (canonical Record.Lang). Cashtags
// are read in every language; the model only for "en" and "" (not recorded), because it
// is English only: on other languages it tags capitalised words at random as names (and
// German capitalises every noun), and that would be stored as data. Twitter's own codes
// for text without language ("und", "zxx", "qme", …) are skipped too.
func (x *Extractor) Extract(text, lang string) []Entity {
	var found []Entity
	for _, sym := range tweet.AppendCashtags(nil, text) {
		found = append(found, Entity{Text: strings.ToUpper(sym), Kind: Organisation})
	}
	if lang != "" && lang != "en" {
		return dedupe(found)
	}
	c := clean(text, x.lex)
	if c.text == "" {
		return dedupe(found)
	}
	doc, err := prose.NewDocument(c.text,
		prose.UsingModel(x.model),
		// Sentences are not needed, and prose's segmenter loads its Punkt model from
		// JSON on every document: it would cost more than the rest together.
		prose.WithSegmentation(false))
	if err != nil {
		// prose.NewDocument never fails in v2.0.0; a later version might, and one text
		// without the model's entities is the right answer to that.
		return dedupe(found)
	}
	return dedupe(append(found, x.chunk(c, doc.Tokens())...))
}

// dedupe drops later repeats of an entity's text, compared case-insensitively.
func dedupe(found []Entity) []Entity {
	if len(found) < 2 {
		return found
	}
	out := found[:0]
	for _, e := range found {
		seen := false
		for _, o := range out {
			if strings.EqualFold(o.Text, e.Text) {
				seen = true
				break
			}
		}
		if !seen {
			out = append(out, e)
		}
	}
	return out
}
