package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Command is one subcommand of a program.
type Command struct {
	Name    string
	Summary string
	Run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// ExitStatus is an error whose explanation has been printed already: the program exits
// with it and prints nothing more.
type ExitStatus int

func (e ExitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Dispatch runs the command that args[0] names and returns the program's exit status:
// 0, the ExitStatus a command returns, 1 for another error (printed as "program command:
// error"), 2 for bad usage. Without a command, or with -h, it prints the program's help:
// intro, the commands with their summaries, then outro.
func Dispatch(ctx context.Context, program, intro, outro string, commands []Command, args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, intro)
		for _, c := range commands {
			fmt.Fprintf(stderr, "  %-10s %s\n", c.Name, c.Summary)
		}
		fmt.Fprintln(stderr, outro)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage()
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.Name != args[0] {
			continue
		}
		err := c.Run(ctx, args[1:], stdout, stderr)
		var status ExitStatus
		switch {
		case err == nil, errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, &status):
			return int(status)
		case errors.Is(err, ErrUsage):
			return 2
		default:
			fmt.Fprintf(stderr, "%s %s: %v\n", program, c.Name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", program, args[0])
	usage()
	return 2
}
