// The word lists and templates of the `templates` family, version 1. Changing any list or its order
// changes every derived prompt: add a v2 instead (and keep v1, so old runs re-derive).
//
// Grammar is by construction: every subject and object is a singular noun, so verbs after a subject take
// the third-person form; verbs after "would" / "to" take the base form; "a" / "an" is chosen from the
// first letter of the following word, and the lists avoid words where spelling and sound disagree
// (a test enforces it: no "unique", "hour", "one"...).
#pragma once

#include <array>
#include <string_view>

namespace pot::challenge::templates_v1 {

struct Verb {
  std::string_view base, third, past;
};

inline constexpr std::array<std::string_view, 46> kSubjects = {
    "astronaut", "baker", "beekeeper", "biologist", "carpenter", "chemist", "clockmaker", "detective",
    "dolphin", "engineer", "explorer", "falcon", "farmer", "fox", "gardener", "geologist",
    "giraffe", "historian", "inventor", "journalist", "juggler", "librarian", "locksmith", "magician",
    "mapmaker", "mechanic", "musician", "nurse", "octopus", "owl", "painter", "pilot",
    "poet", "potter", "robot", "sailor", "scientist", "tailor", "teacher", "tortoise",
    "violinist", "weaver", "whale", "writer", "zookeeper", "archivist"};

inline constexpr std::array<std::string_view, 48> kAdjectives = {
    "ancient", "anxious", "brave", "bright", "careful", "cheerful", "clever", "clumsy",
    "curious", "daring", "diligent", "eager", "elegant", "famous", "forgetful", "friendly",
    "gentle", "generous", "grumpy", "humble", "impatient", "inventive", "jolly", "kind",
    "lonely", "lucky", "modest", "mysterious", "nervous", "old", "patient", "polite",
    "proud", "quiet", "restless", "sleepy", "stubborn", "thoughtful", "tiny", "tired",
    "wise", "young", "zealous", "ambitious", "enormous", "odd", "optimistic", "shy"};

// Adjectives for things ({thing}); kAdjectives describe people and animals.
inline constexpr std::array<std::string_view, 24> kThingAdjectives = {
    "old", "shiny", "broken", "heavy", "tiny", "colourful", "wooden", "golden",
    "rusty", "fragile", "ancient", "enormous", "strange", "precious", "dusty", "borrowed",
    "painted", "polished", "silver", "forgotten", "glowing", "crooked", "delicate", "famous"};

inline constexpr std::array<std::string_view, 48> kObjects = {
    "anchor", "apple", "atlas", "bicycle", "blanket", "book", "bridge", "candle",
    "castle", "clock", "compass", "crown", "diary", "drum", "envelope", "feather",
    "garden", "guitar", "hammer", "helmet", "island", "jar", "kettle", "kite",
    "ladder", "lantern", "letter", "map", "mirror", "necklace", "notebook", "orchard",
    "piano", "puzzle", "recipe", "riddle", "rocket", "sandwich", "seashell", "song",
    "statue", "suitcase", "telescope", "ticket", "violin", "wagon", "window", "engine"};

inline constexpr std::array<Verb, 32> kVerbs = {{
    {"find", "finds", "found"}, {"build", "builds", "built"}, {"repair", "repairs", "repaired"},
    {"paint", "paints", "painted"}, {"borrow", "borrows", "borrowed"}, {"discover", "discovers", "discovered"},
    {"hide", "hides", "hid"}, {"carry", "carries", "carried"}, {"deliver", "delivers", "delivered"},
    {"describe", "describes", "described"}, {"design", "designs", "designed"}, {"examine", "examines", "examined"},
    {"follow", "follows", "followed"}, {"guard", "guards", "guarded"}, {"lose", "loses", "lost"},
    {"measure", "measures", "measured"}, {"photograph", "photographs", "photographed"},
    {"polish", "polishes", "polished"}, {"protect", "protects", "protected"}, {"return", "returns", "returned"},
    {"sell", "sells", "sold"}, {"sketch", "sketches", "sketched"}, {"steal", "steals", "stole"},
    {"study", "studies", "studied"}, {"trade", "trades", "traded"}, {"wrap", "wraps", "wrapped"},
    {"catch", "catches", "caught"}, {"chase", "chases", "chased"}, {"clean", "cleans", "cleaned"},
    {"open", "opens", "opened"}, {"invent", "invents", "invented"}, {"weigh", "weighs", "weighed"},
}};

inline constexpr std::array<std::string_view, 24> kPlaces = {
    "in a quiet village", "on a crowded train", "at the edge of a forest", "beneath an old bridge",
    "on a distant island", "in a busy market", "inside a lighthouse", "near a frozen lake",
    "on the roof of a museum", "in a small bakery", "at the top of a mountain", "in an abandoned factory",
    "beside a slow river", "in a crowded library", "on a windy beach", "inside a glass greenhouse",
    "in the middle of a desert", "under a starry sky", "at a railway station", "in a hidden cave",
    "on a sunny balcony", "behind a theatre", "in a noisy workshop", "near the city harbour"};

inline constexpr std::array<std::string_view, 12> kTimes = {
    "at dawn", "at midnight", "on a rainy afternoon", "during a thunderstorm",
    "on the first day of spring", "just before sunset", "in the middle of winter", "on a quiet Sunday morning",
    "during a long journey", "after a strange dream", "on the night of a festival", "before anyone woke up"};

inline constexpr std::array<std::string_view, 12> kGenres = {
    "story", "poem", "fable", "diary entry", "news report", "letter",
    "dialogue", "fairy tale", "limerick", "short play", "travel log", "bedtime story"};

inline constexpr std::array<std::string_view, 8> kTones = {
    "short", "brief", "funny", "sad", "gentle", "exciting", "thoughtful", "dramatic"};

inline constexpr std::array<std::string_view, 5> kCounts = {"two", "three", "four", "five", "six"};

// Slots: {tone} {genre} {count} {place} {time} {Time} (capitalized) {adj} {adj2} {thing} {subject} {subject2}
// {object} {verb.base} {verb.third} {verb.past}; "{a adj}" etc. put the right article before the slot's word.
inline constexpr std::array<std::string_view, 8> kTemplates = {
    "Write {a tone} {genre} about {a adj} {subject} who {verb.third} {a thing} {object} {place}.",
    "Describe how the {adj} {subject} {verb.past} {a object} {time}.",
    "Explain why {a adj} {subject} would {verb.base} {a thing} {object} {place}.",
    "Tell a story in which {a adj} {subject} {verb.third} {a object} {time}, {place}.",
    "In {count} sentences, describe what happens when {a adj} {subject} {verb.third} {a thing} {object}.",
    "{Time}, {a adj} {subject} {verb.past} {a thing} {object} {place}. What happened next?",
    "Imagine {a adj} {subject} and {a adj2} {subject2} who both want to {verb.base} the same {object}. "
    "Write their conversation.",
    "Continue this sentence: {Time}, the {adj} {subject} {verb.past} {a object} {place}, and then",
};

}  // namespace pot::challenge::templates_v1
