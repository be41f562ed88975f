package warehouse

// MigrateTo applies the migrations up to a version, for the upgrade tests.
var MigrateTo = (*DB).migrateTo
