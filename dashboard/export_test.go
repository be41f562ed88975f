package dashboard

import "io/fs"

// Dist lets the browser test check that the bundle was built.
var Dist, _ = fs.Sub(dist, "web/dist")

// ConsoleOff says why a configuration turns the SQL console off ("" when it may run).
func ConsoleOff(c Config) string { return c.consoleOff() }
