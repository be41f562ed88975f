package entities

import (
	"slices"
	"strings"
	"testing"
)

// testLexicon stands in for the tagger's lexicon in the tests of clean, so that they say
// which words are common.
var testLexicon = lexicon{
	"great": "JJ", "news": "NN", "from": "IN", "the": "DT", "white": "JJ", "house": "NN",
	"today": "NN", "in": "IN", "amazing": "JJ", "launch": "NN", "date": "NN",
	"confirmed": "VBN", "with": "IN", "new": "JJ", "trailer": "NN", "best": "JJS",
	"you": "PRP", "are": "VBP", "is": "VBZ",
}

func TestClean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, text, want string
	}{
		{"plain", "Barack Obama spoke in Chicago", "Barack Obama spoke in Chicago"},
		{"whitespace", "  Obama \n\t in\u00a0Chicago  ", "Obama in Chicago"},
		{"retweet prefix", "RT @CNN: Obama in Chicago", "Obama in Chicago"},
		{"retweet prefix without colon", "RT @user Obama in Chicago", "Obama in Chicago"},
		{"retweet of a retweet", "RT @a: RT @b: Obama", "Obama"},
		{"RT inside is slang", "so true RT @a: Obama", "so true rt Obama"},
		{"URL", "Obama in Chicago https://t.co/AbC123", "Obama in Chicago"},
		{"URL glued to a word", "read via:https://t.co/x now", "read via: now"},
		{"bare www", "see www.example.com today", "see today"},
		{"picture link", "Obama pic.twitter.com/xyz", "Obama"},
		{"mentions", "@user @other Obama thanks @you", "Obama thanks"},
		{"mention before a full stop", "Thanks @user. Obama won", "Thanks . Obama won"},
		{"mention with punctuation", "Obama, @user, and Biden", "Obama, and Biden"},
		{"check-in at", "I'm at @ Santos Party House", "I'm at at Santos Party House"},
		{"email is kept", "mail bob@example.com", "mail bob@example.com"},
		{"hashtag camel case", "at the #ComedyAwards tonight", "at the Comedy Awards tonight"},
		{"hashtag acronym then word", "#NYCMarathon", "NYC Marathon"},
		{"hashtag with digits", "#Election2016 #2016Election #1st", "Election 2016, 2016 Election, 1st"},
		{"hashtag iPhone", "#iPhone rocks", "iPhone rocks"},
		{"cashtags", "$AAPL up 3%, watching $TSLA. $100K", "up 3%, watching . $100K"},
		{"truncated trailing hashtag", "Heavy snow in Utah #StormWa…", "Heavy snow in Utah"},
		{"ellipsis after a word stays", "Heavy snow in Utah…", "Heavy snow in Utah…"},
		{"hashtag underscores", "#new_york_city", "new york city"},
		{"hashtag punctuation", "go #Obama!", "go Obama!"},
		{"hashtag run", "#Liverpool #YNWA #LFC", "Liverpool, YNWA, LFC"},
		{"hashtag without letters", "##$$## deal", "deal"},
		{"hash before punctuation", "#(Obama)", "#(Obama)"},
		{"HTML entities", "Tom &amp; Jerry &gt;&gt; &lt;3", "Tom & Jerry >> <3"},
		{"typographic quotes", "\u201cObama\u2019s\u201d", `"Obama's"`},
		{"invalid UTF-8", "Oba\xffma in\xc3 Chicago", "Obama in Chicago"},
		{"run-on sentence", "getting ready.Bell's staff", "getting ready. Bell's staff"},
		{"run-on clause", "if we lose,we'll be 2nd", "if we lose, we'll be 2nd"},
		{"initialism, number, domain", "U.S. 3.5 Boston.com e.g.", "U.S. 3.5 Boston.com e.g."},
		{"shouting", "GREAT NEWS FROM THE WHITE HOUSE TODAY", "great news from the white house today"},
		{"shouting names", "OBAMA IN CHICAGO TODAY", "Obama in Chicago today"},
		{"shouting keeps short acronyms", "NYC IS THE BEST", "NYC is the best"},
		{"hashtags are not recased", "#YNWA #GREATNEWS ok", "YNWA, GREATNEWS ok"},
		{"hashtags are no headline", "#ComedyAwards #NewTrailer #GreatNews tonight", "Comedy Awards, New Trailer, Great News tonight"},
		{"run of capitals", "you are THE BEST today", "you are the best today"},
		{"lone acronym", "I love NASA and the US", "I love NASA and the US"},
		{"lone shouted word", "that was AMAZING, you are the BEST", "that was amazing, you are the best"},
		{"lone shouted slang", "I know it was Obama LOL", "I know it was Obama lol"},
		{"headline", "Launch Date Confirmed With New Trailer", "launch date confirmed with new trailer"},
		{"names are no headline", "Great day in London with Google and Apple", "Great day in London with Google and Apple"},
		{"long field", "Obama " + strings.Repeat(")", 81) + " Biden", "Obama Biden"},
		{"empty", "", ""},
		{"only a mention", "@user", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := clean(tt.text, testLexicon).text; got != tt.want {
				t.Errorf("clean(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestAppendCamelWords(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"ComedyAwards", "Comedy Awards"},
		{"comedyAwards", "comedy Awards"},
		{"NYCMarathon", "NYC Marathon"},
		{"YNWA", "YNWA"},
		{"Election2016", "Election 2016"},
		{"2016Election", "2016 Election"},
		{"1st", "1st"},
		{"G7Summit", "G7 Summit"},
		{"PS4", "PS4"},
		{"iPhone6", "iPhone 6"},
		{"4K", "4K"},
		{"iPhone", "iPhone"},
		{"ÜberMünchen", "Über München"},
		{"x", "x"},
	}
	for _, tt := range tests {
		if got := strings.Join(appendCamelWords(nil, tt.in), " "); got != tt.want {
			t.Errorf("appendCamelWords(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLetterCase(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
	}{
		{"NASA", upperWord}, {"NASA's", mixedWord}, {"(US)", upperWord}, {"Nasa", titleWord},
		{"Obama's", titleWord}, {"nasa", mixedWord}, {"iPhone", mixedWord}, {"McCain", mixedWord},
		{"I", noLetters}, {"2016", noLetters}, {"🎉", noLetters}, {"", noLetters},
	}
	for _, tt := range tests {
		if got := letterCase(tt.in); got != tt.want {
			t.Errorf("letterCase(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// TestCleanMarksHashtags checks where clean says each hashtag's words are.
func TestCleanMarksHashtags(t *testing.T) {
	c := clean("Chicago #StormWatch: stay in #NYC #NewYork", testLexicon)
	var got []string
	for _, r := range c.tags {
		got = append(got, c.text[r[0]:r[1]])
	}
	want := []string{"Storm Watch:", "NYC,", "New York"}
	if !slices.Equal(got, want) {
		t.Errorf("clean(…) = %q, hashtags %q, want %q", c.text, got, want)
	}
	if !slices.Equal(c.trailing, []bool{false, true, true}) {
		t.Errorf("trailing %v, want the last two", c.trailing)
	}
	if c.tagAt(0) != -1 || c.tagAt(strings.Index(c.text, "Watch")) != 0 || c.tagAt(strings.Index(c.text, "York")) != 2 {
		t.Errorf("tagAt on %q with %v", c.text, c.tags)
	}
}
