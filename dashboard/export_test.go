package dashboard

import "io/fs"

// Dist lets the browser test check that the bundle was built.
var Dist, _ = fs.Sub(dist, "web/dist")
