package tweet

import "time"

// SnowflakeEpoch is the instant Twitter's snowflake ids count milliseconds from
// (2010-11-04T01:42:54.657Z), above 22 bits of machine and sequence: an id says when its
// tweet was made, and ids rise with time.
const SnowflakeEpoch = 1288834974657

// SnowflakeID is the id of a tweet made at t, with seq in its low 22 bits.
func SnowflakeID(t time.Time, seq uint64) uint64 {
	return uint64(t.UnixMilli()-SnowflakeEpoch)<<22 | seq&(1<<22-1)
}

// SnowflakeTime is when the tweet of a snowflake id was made, to the millisecond.
func SnowflakeTime(id uint64) time.Time {
	return time.UnixMilli(int64(id>>22) + SnowflakeEpoch)
}
