package generator

import "math/rand/v2"

// The vocabulary the generator composes tweets from. Written for this feed; sentiment words
// are chosen so that a lexicon scorer finds the intended polarity most of the time, but not
// always, as with real tweets.

var languageMix = []struct {
	code  string
	share float64
}{{"en", 0.70}, {"es", 0.10}, {"pt", 0.06}, {"fr", 0.05}, {"de", 0.04}, {"ja", 0.03}, {"it", 0.02}}

type phraseSet struct {
	subjects                    []string
	positive, negative, neutral []string
}

var phrases = map[string]*phraseSet{
	"en": {
		subjects: []string{"the new phone", "this album", "the game last night", "my morning coffee", "the update", "the keynote", "this city", "the new season", "our team", "the concert", "the weather", "my commute", "the airline", "this book", "the movie", "the launch", "customer support", "the traffic", "the final", "the meetup"},
		positive: []string{
			"I love {x}, honestly the best thing this week",
			"{x} was amazing, so happy right now",
			"really impressed by {x}, great work everyone",
			"{x} made my day :)",
			"can't stop smiling about {x}",
			"huge thanks for {x}, it was wonderful",
			"{x} is brilliant and I'm excited for more",
			"what a fantastic surprise, {x} is awesome",
			"so proud of {x}, well deserved win",
			"{x} is just beautiful <3",
			"feeling grateful for {x} today",
			"not bad at all, {x} turned out pretty good",
		},
		negative: []string{
			"{x} is a total disaster, so disappointed",
			"I hate how bad {x} is right now",
			"{x} ruined my whole day :(",
			"worst experience ever with {x}",
			"so frustrated with {x}, nothing works",
			"{x} was boring and a complete waste of time",
			"really angry about {x}, this is awful",
			"sad to see {x} fail like this",
			"{x} is broken again, terrible",
			"can't believe how ugly {x} looks, what a mess",
			"{x} is not good, not good at all",
			"tired of {x} and the stupid delays",
		},
		neutral: []string{
			"watching {x} now",
			"anyone else following {x}?",
			"{x} starts at 8 tonight",
			"reading about {x} on the train",
			"thoughts on {x}?",
			"{x} is on the schedule for tomorrow",
			"just saw the news about {x}",
			"heading out to check {x}",
			"updates on {x} coming later",
			"{x} in 10 minutes",
		},
	},
	"es": {
		subjects: []string{"el partido", "la nueva serie", "el concierto", "el clima", "la actualización", "el lanzamiento"},
		positive: []string{"me encanta {x}, qué maravilla", "{x} fue increíble, muy feliz", "gracias por {x}, excelente"},
		negative: []string{"{x} es un desastre total", "odio {x}, qué mal", "muy triste con {x}, horrible"},
		neutral:  []string{"viendo {x} ahora", "¿alguien sigue {x}?", "{x} empieza a las ocho"},
	},
	"pt": {
		subjects: []string{"o jogo", "a nova série", "o show", "o tempo", "a atualização", "o lançamento"},
		positive: []string{"adorei {x}, muito bom", "{x} foi incrível, estou feliz", "obrigado por {x}, excelente"},
		negative: []string{"{x} foi péssimo", "odeio {x}, que horror", "muito triste com {x}"},
		neutral:  []string{"assistindo {x} agora", "alguém acompanhando {x}?", "{x} começa às oito"},
	},
	"fr": {
		subjects: []string{"le match", "la nouvelle série", "le concert", "la météo", "la mise à jour", "le lancement"},
		positive: []string{"j'adore {x}, génial", "{x} était magnifique, trop content", "merci pour {x}, excellent"},
		negative: []string{"{x} est une catastrophe", "je déteste {x}, nul", "tellement déçu par {x}"},
		neutral:  []string{"je regarde {x} maintenant", "quelqu'un suit {x} ?", "{x} commence à vingt heures"},
	},
	"de": {
		subjects: []string{"das Spiel", "die neue Serie", "das Konzert", "das Wetter", "das Update", "der Start"},
		positive: []string{"ich liebe {x}, super", "{x} war großartig, so glücklich", "danke für {x}, toll"},
		negative: []string{"{x} ist eine Katastrophe", "ich hasse {x}, schrecklich", "so enttäuscht von {x}"},
		neutral:  []string{"schaue gerade {x}", "verfolgt jemand {x}?", "{x} beginnt um acht"},
	},
	"ja": {
		subjects: []string{"新しいアルバム", "試合", "コンサート", "天気", "アップデート"},
		positive: []string{"{x}最高！本当に嬉しい", "{x}素晴らしかった"},
		negative: []string{"{x}最悪…がっかり", "{x}ひどい"},
		neutral:  []string{"今{x}を見ている", "{x}は明日です"},
	},
	"it": {
		subjects: []string{"la partita", "la nuova serie", "il concerto", "il tempo"},
		positive: []string{"adoro {x}, bellissimo", "{x} è stato fantastico"},
		negative: []string{"{x} è un disastro", "odio {x}, che schifo"},
		neutral:  []string{"sto guardando {x}", "{x} inizia alle otto"},
	},
}

var (
	firstNames = []string{"Alex", "Sam", "Maria", "Jose", "Lucas", "Emma", "Noah", "Olivia", "Liam", "Ava", "Mia", "Yuki", "Hana", "Lea", "Paul", "Chloe", "Ana", "Pedro", "Sofia", "Max", "Nina", "Omar", "Priya", "Ravi", "Zoe", "Ben", "Ines", "Jonas", "Clara", "Diego"}
	lastNames  = []string{"Smith", "Garcia", "Silva", "Martin", "Müller", "Rossi", "Tanaka", "Kim", "Dubois", "Santos", "Brown", "Lopez", "Schmidt", "Costa", "Nguyen", "Patel", "Wilson", "Moreau"}
	suffixes   = []string{"", "_", "x", "_real", "the", "_dev", "fan", "_news"}
	sites      = []string{"news.example.com", "blog.example.org", "photos.example.net", "video.example.com", "shop.example.com"}
	cashtags   = []string{"AAPL", "TSLA", "BTC", "ETH", "NVDA", "AMZN"}
)

var (
	happyEmoji = []string{"😀", "😍", "🎉", "🔥", "👏", "❤️", "😂", "🙌"}
	sadEmoji   = []string{"😡", "😢", "😞", "💔", "🙄", "😤"}
	calmEmoji  = []string{"👀", "🤔", "📺", "☕", "🚆", "📅"}
)

func emojiFor(rng *rand.Rand, sent int) string {
	switch sent {
	case 1:
		return happyEmoji[rng.IntN(len(happyEmoji))]
	case -1:
		return sadEmoji[rng.IntN(len(sadEmoji))]
	}
	return calmEmoji[rng.IntN(len(calmEmoji))]
}

// hashtagPool is the long tail of everyday hashtags; Zipf sampling over it makes a few very
// common and most rare.
func hashtagPool() []string {
	head := []string{"news", "music", "love", "tech", "football", "photography", "travel", "food", "gaming", "movies", "AI", "crypto", "fitness", "art", "fashion", "nba", "weather", "science", "books", "coffee", "startup", "design", "nature", "health", "cats", "dogs", "tv", "anime", "kpop", "politics"}
	tail := []string{"monday", "tbt", "photooftheday", "instagood", "happy", "goals", "summer", "winter", "rain", "sunset", "weekend", "work", "study", "code", "golang", "python", "javascript", "cloud", "devops", "data", "analytics", "kafka", "clickhouse", "opensource", "linux", "privacy", "security", "space", "nasa", "climate", "energy", "ev", "bitcoin", "ethereum", "nft", "stocks", "economy", "jobs", "education", "history", "museum", "theatre", "jazz", "rock", "hiphop", "festival", "concert", "vinyl", "podcast", "comedy", "recipes", "vegan", "pizza", "sushi", "tacos", "running", "yoga", "cycling", "tennis", "f1", "cricket", "rugby", "baseball", "hockey", "olympics", "worldcup", "esports", "minecraft", "nintendo", "playstation", "xbox", "streaming", "netflix", "series", "documentary", "horror", "scifi", "fantasy", "poetry", "writing", "selfcare", "mentalhealth", "family", "parenting", "pets", "garden", "diy", "architecture", "interiors", "cars", "bikes", "hiking", "camping", "beach", "mountains", "roadtrip", "airport", "commute", "traffic", "city", "local"}
	out := append([]string{}, head...)
	out = append(out, tail...)
	for i := 0; len(out) < 320; i++ {
		out = append(out, tail[i%len(tail)]+"life")
	}
	return out
}
