package sentiment

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// tok is a compact token for test tables: "kind:text".
func tok(k Kind, text string) string { return k.String() + ":" + text }

func TestTokenize(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text string
		want []string
	}{
		{"I #LoveThis @user_1 #1 C# a#b", []string{tok(Word, "I"), tok(Hashtag, "#LoveThis"), tok(Mention, "@user_1"),
			tok(Punct, "#"), tok(Number, "1"), tok(Word, "C"), tok(Punct, "#"), tok(Word, "a"), tok(Punct, "#"), tok(Word, "b")}},
		{"see https://t.co/x, www.example.com bit.ly/abc example.com. it.was bob@example.com $AAPL $5",
			[]string{tok(Word, "see"), tok(URL, "https://t.co/x"), tok(Punct, ","), tok(URL, "www.example.com"), tok(URL, "bit.ly/abc"),
				tok(URL, "example.com"), tok(Punct, "."), tok(Word, "it"), tok(Punct, "."), tok(Word, "was"), tok(URL, "bob@example.com"),
				tok(Cashtag, "$AAPL"), tok(Punct, "$"), tok(Number, "5")}},
		{":) :-( <3 </3 :D xD ;-) :'( :))))", []string{tok(Emoticon, ":)"), tok(Emoticon, ":-("), tok(Emoticon, "<3"),
			tok(Emoticon, "</3"), tok(Emoticon, ":D"), tok(Emoticon, "xD"), tok(Emoticon, ";-)"), tok(Emoticon, ":'("), tok(Emoticon, ":))))")}},
		{"D: ^_^ T_T o_O -_- (: >:( \\o/ &lt;3", []string{tok(Emoticon, "D:"), tok(Emoticon, "^_^"), tok(Emoticon, "T_T"),
			tok(Emoticon, "o_O"), tok(Emoticon, "-_-"), tok(Emoticon, "(:"), tok(Emoticon, ">:("), tok(Emoticon, "\\o/"), tok(Emoticon, "&lt;3")}},
		{"great:) fun!!:D", []string{tok(Word, "great"), tok(Emoticon, ":)"), tok(Word, "fun"), tok(Punct, "!!"), tok(Emoticon, ":D")}},
		// Not faces: times, URLs, words before a colon, list numbers, arrows, initials.
		{"10:30 Dad: (8) => T.O http://x.y", []string{tok(Number, "10:30"), tok(Word, "Dad"), tok(Punct, ":"), tok(Punct, "("),
			tok(Number, "8"), tok(Punct, ")"), tok(Punct, "=>"), tok(Word, "T"), tok(Punct, "."), tok(Word, "O"), tok(URL, "http://x.y")}},
		{"don't it’s Don\\u2019t e-mail rock'n'roll 3pm gr8 3.5 1,000 24/7 10-0", []string{tok(Word, "don't"), tok(Word, "it’s"),
			tok(Word, "Don\\u2019t"), tok(Word, "e-mail"), tok(Word, "rock'n'roll"), tok(Word, "3pm"), tok(Word, "gr8"),
			tok(Number, "3.5"), tok(Number, "1,000"), tok(Number, "24/7"), tok(Number, "10-0")}},
		{"wow!!! so... ok?! &amp; tomorrow\\u002c 'quoted'", []string{tok(Word, "wow"), tok(Punct, "!!!"), tok(Word, "so"), tok(Punct, "..."),
			tok(Word, "ok"), tok(Punct, "?!"), tok(Punct, "&amp;"), tok(Word, "tomorrow"), tok(Punct, "\\u002c"), tok(Punct, "'"),
			tok(Word, "quoted"), tok(Punct, "'")}},
		// Emoji stay whole with skin tones, ZWJ sequences, flags and keycaps.
		{"👍🏽 👨‍👩‍👧 🇫🇷 ❤️ 1️⃣ #️⃣ 😂😂 ↔️", []string{tok(Emoji, "👍🏽"), tok(Emoji, "👨‍👩‍👧"), tok(Emoji, "🇫🇷"), tok(Emoji, "❤️"),
			tok(Emoji, "1️⃣"), tok(Emoji, "#️⃣"), tok(Emoji, "😂"), tok(Emoji, "😂"), tok(Emoji, "↔️")}},
		{"love👍so", []string{tok(Word, "love"), tok(Emoji, "👍"), tok(Word, "so")}},
		// Japanese breaks at changes of script.
		{"今日は東京タワーに行きました。", []string{tok(Word, "今日"), tok(Word, "は"), tok(Word, "東京"), tok(Word, "タワー"),
			tok(Word, "に"), tok(Word, "行"), tok(Word, "きました"), tok(Punct, "。")}},
		{"Café crème, Straße", []string{tok(Word, "Café"), tok(Word, "crème"), tok(Punct, ","), tok(Word, "Straße")}},
		// Invalid UTF-8 and invisible characters separate tokens.
		{"a\xffb c\u200bd", []string{tok(Word, "a"), tok(Word, "b"), tok(Word, "c"), tok(Word, "d")}},
		{"", nil},
		{" \t\r\n", nil},
	}
	for _, c := range cases {
		var got []string
		for _, tk := range Tokenize(c.text) {
			got = append(got, tok(tk.Kind, tk.Text))
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Tokenize(%q)\n got %q\nwant %q", c.text, got, c.want)
		}
	}
}

func TestSplitHashtag(t *testing.T) {
	t.Parallel()
	for tag, want := range map[string][]string{
		"#LoveThis":     {"love", "this"},
		"#NFLDraft2024": {"nfl", "draft", "2024"},
		"#not_happy":    {"not", "happy"},
		"#blessed":      {"blessed"},
		"#FAIL":         {"fail"},
		"iPhone":        {"i", "phone"},
		"#":             nil,
	} {
		if got := SplitHashtag(tag); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitHashtag(%q) = %q, want %q", tag, got, want)
		}
	}
}

// TestAppendTokensReusesItsSlice is not parallel: AllocsPerRun counts the whole
// process's allocations.
func TestAppendTokensReusesItsSlice(t *testing.T) {
	buf := make([]Token, 0, 64)
	text := "So #happy today :) https://t.co/x @you"
	if n := testing.AllocsPerRun(100, func() { buf = AppendTokens(buf[:0], text) }); n != 0 {
		t.Errorf("AppendTokens allocates %v times per call with room in dst", n)
	}
}

// FuzzTokenize checks that tokens are non-empty pieces of the text, in order and
// apart, that nothing but separators falls between them, and that any text scores in
// [-1, 1].
func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"good", "not VERY good!!!", "no", ":D <3 &lt;3 </3", "kind of", "never so good", "a\xffb", "but",
		"#LoveThis @user https://t.co/x?a=b.", "sooo gooood", "👍🏽👨‍👩‍👧🇫🇷1️⃣", "Don\\u2019t\\u002c", "今日は東京",
		"^_^ T_T o_O ;_; D: (: xD", "&amp;&#39;&lt;", "\\u", "#", "@", "$", ":", "the shit", "no no no", "DON'T CARE DON'T CARE",
	} {
		f.Add(s)
	}
	a := New()
	f.Fuzz(func(t *testing.T, text string) {
		toks := Tokenize(text)
		at := 0
		for _, tk := range toks {
			if tk.Text == "" || tk.Kind < Word || tk.Kind > Punct {
				t.Fatalf("Tokenize(%q): bad token %+v", text, tk)
			}
			k := strings.Index(text[at:], tk.Text)
			if k < 0 {
				t.Fatalf("Tokenize(%q): %q is not in the rest of the text %q", text, tk.Text, text[at:])
			}
			for _, r := range text[at : at+k] {
				if r != utf8.RuneError && !isSeparator(r) {
					t.Fatalf("Tokenize(%q): %q lost before %q", text, text[at:at+k], tk.Text)
				}
			}
			at += k + len(tk.Text)
		}
		c, l := a.Score(text)
		if math.IsNaN(c) || c < -1 || c > 1 || l != LabelOf(c) {
			t.Fatalf("Score(%q) = %v, %v", text, c, l)
		}
	})
}
