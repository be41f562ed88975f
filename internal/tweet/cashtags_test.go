package tweet

import (
	"slices"
	"testing"
)

func TestAppendCashtags(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []string
	}{
		{"$AAPL up 3% after earnings, $tsla down", []string{"AAPL", "tsla"}},
		{"$AAPL's guidance, ($MSFT) and $GOOG.", []string{"AAPL", "GOOG"}}, // "(" is no space before
		{"$BRK.B and $BRK_A", []string{"BRK.B", "BRK_A"}},
		{"turned $100K into $3.5 MILLION", nil},
		{"$TOOLONG $AAPL2 $ $$ a$AAPL", nil},
		{"$NVDA $NVDA\t$nvda", []string{"NVDA", "nvda"}},
		{"$ETH…", nil},
		{"$ETH!", []string{"ETH"}},
		{"", nil},
	} {
		if got := AppendCashtags(nil, tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("AppendCashtags(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}
