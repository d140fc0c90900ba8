#include "linkage/synth/names.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"

namespace cohortlink::synth {
namespace {

// Forenames of people born 1960-2010 in England and Wales (ONS baby-name
// rankings across those decades), merged into one rank order.
const std::vector<const char*> kFemale = {
    "Sarah",      "Emma",      "Laura",     "Rebecca",   "Gemma",
    "Amy",        "Rachel",    "Claire",    "Nicola",    "Lisa",
    "Jessica",    "Hannah",    "Charlotte", "Lauren",    "Sophie",
    "Chloe",      "Emily",     "Katie",     "Samantha",  "Michelle",
    "Kelly",      "Jade",      "Stacey",    "Danielle",  "Natalie",
    "Jennifer",   "Victoria",  "Amanda",    "Karen",     "Tracey",
    "Julie",      "Helen",     "Joanne",    "Louise",    "Kerry",
    "Donna",      "Leanne",    "Zoe",       "Kirsty",    "Holly",
    "Megan",      "Olivia",    "Amelia",    "Jasmine",   "Ellie",
    "Lucy",       "Georgia",   "Abigail",   "Bethany",   "Shannon",
    "Courtney",   "Paige",     "Caitlin",   "Jodie",     "Melissa",
    "Hayley",     "Carly",     "Natasha",   "Alice",     "Grace",
    "Mary",       "Margaret",  "Susan",     "Elizabeth", "Patricia",
    "Linda",      "Deborah",   "Sharon",    "Angela",    "Catherine",
    "Anne",       "Jane",      "Christine", "Wendy",     "Dawn",
    "Sandra",     "Fatima",    "Aisha",     "Maria",     "Anna",
    "Chelsea",    "Toni",      "Leah",      "Kayleigh",  "Sian",
    "Rhiannon",   "Stephanie", "Kimberley", "Alexandra", "Katherine",
    "Jacqueline", "Alison",    "Caroline",  "Lindsey",   "Heather",
    "Vicky",      "Ruby",      "Evie",      "Mia",       "Isabella",
    "Freya",      "Millie",    "Phoebe",    "Summer",    "Demi",
    "Tia",        "Keeley",    "Charlene",  "Lorraine",  "Diane",
    "Janet",      "Tina",      "Teresa",    "Maxine",    "Ayesha",
    "Zara",       "Amina",     "Agnieszka", "Joanna",    "Chantelle",
    "Shauna",     "Siobhan",   "Bridget"};

const std::vector<const char*> kMale = {
    "David",    "John",     "Paul",     "Mark",     "James",   "Andrew",
    "Michael",  "Peter",    "Robert",   "Richard",  "Stephen", "Christopher",
    "Daniel",   "Matthew",  "Thomas",   "Lee",      "Craig",   "Darren",
    "Jason",    "Wayne",    "Gary",     "Kevin",    "Ian",     "Simon",
    "Anthony",  "Scott",    "Adam",     "Ryan",     "Jamie",   "Luke",
    "Liam",     "Jack",     "Joshua",   "Nathan",   "Callum",  "Connor",
    "Kyle",     "Jordan",   "Dean",     "Shaun",    "Carl",    "Steven",
    "Martin",   "Neil",     "Jonathan", "Benjamin", "Samuel",  "Alexander",
    "Joseph",   "William",  "George",   "Harry",    "Charlie", "Oliver",
    "Jake",     "Lewis",    "Aaron",    "Bradley",  "Reece",   "Kieran",
    "Mohammed", "Muhammad", "Ali",      "Ahmed",    "Tyler",   "Dylan",
    "Ashley",   "Alan",     "Brian",    "Keith",    "Barry",   "Terry",
    "Colin",    "Graham",   "Philip",   "Nigel",    "Stuart",  "Sean",
    "Patrick",  "Owen",     "Rhys",     "Ethan",    "Mason",   "Harvey",
    "Jayden",   "Kai",      "Brandon",  "Nicholas", "Edward",  "Kenneth",
    "Dominic",  "Marcus",   "Leon",     "Jermaine", "Tony",    "Gavin",
    "Jeffrey",  "Lloyd",    "Mitchell", "Declan",   "Cameron", "Ross",
    "Sam",      "Ben",      "Alfie",    "Archie",   "Noah",    "Leo",
    "Toby",     "Max",      "Joel",     "Ricky",    "Robbie",  "Tomasz",
    "Piotr",    "Imran",    "Hassan",   "Omar",     "Yusuf",   "Kofi",
    "Tyrone",   "Clive",    "Derek",    "Malcolm"};

// Surnames in England and Wales, most common first.
const std::vector<const char*> kSurnames = {
    "Smith",        "Jones",      "Williams",  "Taylor",     "Brown",
    "Davies",       "Evans",      "Wilson",    "Thomas",     "Johnson",
    "Roberts",      "Robinson",   "Thompson",  "Wright",     "Walker",
    "White",        "Edwards",    "Hughes",    "Green",      "Hall",
    "Lewis",        "Harris",     "Clarke",    "Patel",      "Jackson",
    "Wood",         "Turner",     "Martin",    "Cooper",     "Hill",
    "Ward",         "Morris",     "Moore",     "Clark",      "Lee",
    "King",         "Baker",      "Harrison",  "Morgan",     "Allen",
    "James",        "Scott",      "Phillips",  "Watson",     "Davis",
    "Parker",       "Price",      "Bennett",   "Young",      "Griffiths",
    "Mitchell",     "Kelly",      "Cook",      "Carter",     "Richardson",
    "Bailey",       "Collins",    "Bell",      "Shaw",       "Murphy",
    "Miller",       "Cox",        "Richards",  "Khan",       "Marshall",
    "Anderson",     "Simpson",    "Ellis",     "Adams",      "Singh",
    "Begum",        "Wilkinson",  "Foster",    "Chapman",    "Powell",
    "Webb",         "Rogers",     "Gray",      "Mason",      "Ali",
    "Hunt",         "Hussain",    "Campbell",  "Matthews",   "Owen",
    "Palmer",       "Holmes",     "Mills",     "Barnes",     "Knight",
    "Lloyd",        "Butler",     "Russell",   "Barker",     "Fisher",
    "Stevens",      "Jenkins",    "Murray",    "Dixon",      "Harvey",
    "Graham",       "Pearson",    "Ahmed",     "Fletcher",   "Walsh",
    "Kaur",         "Gibson",     "Howard",    "Andrews",    "Stewart",
    "Elliott",      "Reynolds",   "Saunders",  "Payne",      "Fox",
    "Ford",         "Pearce",     "Day",       "Brooks",     "West",
    "Lawrence",     "Cole",       "Atkinson",  "Bradley",    "Spencer",
    "Gill",         "Dawson",     "Ball",      "Burton",     "O'Brien",
    "Watts",        "Rose",       "Booth",     "Perry",      "Ryan",
    "Grant",        "Wells",      "Armstrong", "Francis",    "Rees",
    "Hayes",        "Hart",       "Hudson",    "Newman",     "Barrett",
    "Webster",      "Hunter",     "Gregory",   "Carr",       "Lowe",
    "Page",         "Marsh",      "Riley",     "Dunn",       "Woods",
    "Parsons",      "Berry",      "Stone",     "Reid",       "Holland",
    "Hawkins",      "Harding",    "Porter",    "Robertson",  "Newton",
    "Oliver",       "Reed",       "Kennedy",   "Williamson", "Bird",
    "Gardner",      "Shah",       "Dean",      "Lane",       "Cooke",
    "Bates",        "Henderson",  "Parry",     "Burgess",    "Bishop",
    "Walton",       "Burns",      "Nicholson", "Shepherd",   "Ross",
    "Cross",        "Long",       "Freeman",   "Warren",     "Nicholls",
    "Hamilton",     "Byrne",      "Sutton",    "McDonald",   "Yates",
    "Hodgson",      "Robson",     "Curtis",    "Hopkins",    "O'Connor",
    "Harper",       "Coleman",    "Watkins",   "Moss",       "McCarthy",
    "Chambers",     "O'Neill",    "Griffin",   "Sharp",      "Hardy",
    "Wheeler",      "Potter",     "Osborne",   "Johnston",   "Gordon",
    "Doyle",        "Wallace",    "George",    "Jordan",     "Hutchinson",
    "Rowe",         "Burke",      "May",       "Pritchard",  "Gilbert",
    "Willis",       "Higgins",    "Read",      "Miles",      "Stevenson",
    "Stephenson",   "Hammond",    "Arnold",    "Buckley",    "Walters",
    "Hewitt",       "Barber",     "Nelson",    "Slater",     "Austin",
    "Sullivan",     "Whitehead",  "Mann",      "Frost",      "Lambert",
    "Stephens",     "Blake",      "Akhtar",    "Lynch",      "Goodwin",
    "Barton",       "Woodward",   "Thomson",   "Cunningham", "Quinn",
    "Barnett",      "Baxter",     "Bibi",      "Clayton",    "Nash",
    "Greenwood",    "Jennings",   "Holt",      "Kemp",       "Poole",
    "Gallagher",    "Bond",       "Stokes",    "Tucker",     "Davidson",
    "Fowler",       "Heath",      "Norman",    "Middleton",  "Lawson",
    "Banks",        "French",     "Stanley",   "Jarvis",     "Gibbs",
    "Ferguson",     "Hayward",    "Carroll",   "Douglas",    "Dickinson",
    "Todd",         "Barlow",     "Peters",    "Lucas",      "Knowles",
    "Hartley",      "Miah",       "Simmons",   "Morton",     "Alexander",
    "Field",        "Morrison",   "Norris",    "Townsend",   "Preston",
    "Hancock",      "Thornton",   "Baldwin",   "Burrows",    "Briggs",
    "Storey",       "Pugh",       "Jacobs",    "Fraser",     "Kowalski",
    "Nowak",        "Wisniewski", "Okafor",    "Mensah",     "Nguyen",
    "Van der Berg", "De Souza",   "MacLeod",   "Fitzgerald", "Nwosu",
    "Mohamed",      "Abdi",       "Osman",     "Farah",      "Santos",
    "Rodrigues"};

struct Pair {
  const char* from;
  const char* to;
};

// Short forms and nicknames in common UK use.
const std::vector<Pair> kNicknames = {
    {"William", "Bill"},      {"William", "Will"},      {"William", "Billy"},
    {"Robert", "Rob"},        {"Robert", "Bob"},        {"Robert", "Robbie"},
    {"Richard", "Rick"},      {"Richard", "Rich"},      {"Michael", "Mike"},
    {"Michael", "Mick"},      {"Christopher", "Chris"}, {"Anthony", "Tony"},
    {"Stephen", "Steve"},     {"Steven", "Steve"},      {"Andrew", "Andy"},
    {"Daniel", "Dan"},        {"Daniel", "Danny"},      {"Matthew", "Matt"},
    {"Thomas", "Tom"},        {"Thomas", "Tommy"},      {"James", "Jim"},
    {"James", "Jimmy"},       {"James", "Jamie"},       {"Joseph", "Joe"},
    {"Jonathan", "Jon"},      {"Benjamin", "Ben"},      {"Samuel", "Sam"},
    {"Alexander", "Alex"},    {"Nicholas", "Nick"},     {"Edward", "Ed"},
    {"Edward", "Ted"},        {"David", "Dave"},        {"Peter", "Pete"},
    {"Kenneth", "Ken"},       {"Joshua", "Josh"},       {"Nathan", "Nat"},
    {"Elizabeth", "Liz"},     {"Elizabeth", "Beth"},    {"Elizabeth", "Lizzie"},
    {"Margaret", "Maggie"},   {"Margaret", "Peggy"},    {"Catherine", "Kate"},
    {"Catherine", "Cathy"},   {"Katherine", "Kate"},    {"Katherine", "Kathy"},
    {"Rebecca", "Becky"},     {"Samantha", "Sam"},      {"Jennifer", "Jenny"},
    {"Jennifer", "Jen"},      {"Victoria", "Vicky"},    {"Jessica", "Jess"},
    {"Nicola", "Nicky"},      {"Deborah", "Debbie"},    {"Patricia", "Pat"},
    {"Patricia", "Trish"},    {"Susan", "Sue"},         {"Christine", "Chris"},
    {"Charlotte", "Charlie"}, {"Abigail", "Abbie"},     {"Natasha", "Tash"},
    {"Amanda", "Mandy"},      {"Alexandra", "Alex"},    {"Michelle", "Shelley"},
    {"Kimberley", "Kim"},     {"Stephanie", "Steph"},   {"Joanne", "Jo"},
    {"Danielle", "Dani"},     {"Jacqueline", "Jackie"}, {"Caroline", "Carol"},
    {"Mohammed", "Mo"},       {"Muhammad", "Mo"},       {"Alfie", "Alf"},
    {"Bradley", "Brad"},      {"Timothy", "Tim"},       {"Gregory", "Greg"}};

// Spelling variants, both directions.
const std::vector<Pair> kVariants = {
    {"Stephen", "Steven"},      {"Jon", "John"},
    {"Catherine", "Katherine"}, {"Catherine", "Kathryn"},
    {"Claire", "Clare"},        {"Zoe", "Zoey"},
    {"Leanne", "Lianne"},       {"Mohammed", "Muhammad"},
    {"Mohammed", "Mohammad"},   {"Sean", "Shaun"},
    {"Sean", "Shawn"},          {"Philip", "Phillip"},
    {"Jeffrey", "Geoffrey"},    {"Ann", "Anne"},
    {"Sarah", "Sara"},          {"Rachel", "Rachael"},
    {"Lindsey", "Lindsay"},     {"Kerry", "Kerri"},
    {"Hayley", "Haley"},        {"Jodie", "Jody"},
    {"Kayleigh", "Kayley"},     {"Thompson", "Thomson"},
    {"Davies", "Davis"},        {"Clarke", "Clark"},
    {"Stevens", "Stephens"},    {"Reid", "Reed"},
    {"Reid", "Read"},           {"Gray", "Grey"},
    {"Matthews", "Mathews"},    {"Phillips", "Philips"},
    {"McDonald", "MacDonald"},  {"O'Brien", "OBrien"},
    {"O'Neill", "O'Neil"},      {"Stephenson", "Stevenson"},
    {"Nicholls", "Nichols"},    {"Ahmed", "Ahmad"},
    {"Hussain", "Hussein"},     {"Mohamed", "Mohammed"}};

}  // namespace

NameTables::Table NameTables::MakeTable(std::vector<const char*> names) {
  Table t;
  double total = 0;
  for (size_t r = 0; r < names.size(); ++r) {
    total += 1.0 / std::pow(r + 2.0, 0.9);
    t.cdf.push_back(total);
  }
  for (double& c : t.cdf) c /= total;
  t.names = std::move(names);
  return t;
}

const char* NameTables::Table::Draw(Rng& rng) const {
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  size_t i = std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin();
  return names[std::min(i, names.size() - 1)];
}

NameTables::NameTables()
    : female_(MakeTable(kFemale)),
      male_(MakeTable(kMale)),
      surnames_(MakeTable(kSurnames)) {}

std::string NameTables::Forename(bool female, Rng& rng) const {
  return (female ? female_ : male_).Draw(rng);
}

std::string NameTables::Surname(Rng& rng) const { return surnames_.Draw(rng); }

namespace {
std::string PickPair(const std::vector<Pair>& pairs, absl::string_view name,
                     bool both_ways, Rng& rng) {
  std::vector<const char*> options;
  for (const auto& p : pairs) {
    if (absl::EqualsIgnoreCase(p.from, name)) options.push_back(p.to);
    if (both_ways && absl::EqualsIgnoreCase(p.to, name))
      options.push_back(p.from);
  }
  if (options.empty()) return "";
  std::uniform_int_distribution<size_t> pick(0, options.size() - 1);
  return options[pick(rng)];
}
}  // namespace

std::string NameTables::Nickname(absl::string_view forename, Rng& rng) const {
  return PickPair(kNicknames, forename, false, rng);
}

std::string NameTables::Variant(absl::string_view name, Rng& rng) const {
  return PickPair(kVariants, name, true, rng);
}

}  // namespace cohortlink::synth
