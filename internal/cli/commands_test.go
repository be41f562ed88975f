package cli

import (
	"context"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
)

// TestDispatch checks the exit status and what is printed for each way a command ends.
func TestDispatch(t *testing.T) {
	ends := map[string]error{"ok": nil, "flag-help": flag.ErrHelp, "usage": ErrUsage, "status": ExitStatus(3), "fails": errors.New("boom")}
	var commands []Command
	for name, err := range ends {
		commands = append(commands, Command{Name: name, Summary: "ends " + name, Run: func(context.Context, []string, io.Writer, io.Writer) error { return err }})
	}
	for _, tt := range []struct {
		args   []string
		status int
		says   string
	}{
		{[]string{"ok"}, 0, ""}, {[]string{"flag-help"}, 0, ""}, {[]string{"usage"}, 2, ""}, {[]string{"status"}, 3, ""},
		{[]string{"fails"}, 1, "prog fails: boom"}, {nil, 2, "ends fails"}, {[]string{"-h"}, 0, "intro"}, {[]string{"nope"}, 2, `unknown command "nope"`},
	} {
		var stderr strings.Builder
		status := Dispatch(context.Background(), "prog", "intro", "outro", commands, tt.args, io.Discard, &stderr)
		if status != tt.status || !strings.Contains(stderr.String(), tt.says) || tt.says == "" && stderr.Len() > 0 {
			t.Errorf("%v: status %d, said %q; want %d saying %q", tt.args, status, stderr.String(), tt.status, tt.says)
		}
	}
}
