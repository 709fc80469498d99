"""What a mention's words say about it: its normalised text and head word, its
content words, whether it is a pronoun and of which class, and the semantic
class (male, female, person, neuter) and number of a noun phrase. The rule
baselines and the antecedent scorer's pair features both read these."""
from typing import FrozenSet, List, Optional, Tuple

from spacy.tokens import Span

DETERMINERS = {
    "a", "an", "the", "this", "that", "these", "those", "some", "any", "another",
    "his", "her", "its", "their", "our", "my", "your", "one",
}
MALE_WORDS = {
    "man", "men", "boy", "boys", "gentleman", "gentlemen", "guy", "guys", "father", "dad",
    "son", "brother", "husband", "king", "male", "he", "him", "his", "himself", "grandfather",
    "uncle", "groom", "policeman", "fireman", "sir", "mr",
}
FEMALE_WORDS = {
    "woman", "women", "girl", "girls", "lady", "ladies", "mother", "mom", "daughter", "sister",
    "wife", "queen", "female", "she", "her", "hers", "herself", "grandmother", "aunt", "bride",
    "mrs", "ms",
}
PERSON_WORDS = {
    "person", "people", "persons", "child", "children", "kid", "kids", "baby", "babies",
    "player", "players", "someone", "somebody", "adult", "adults", "teenager", "student",
    "worker", "rider", "skier", "surfer", "crowd", "team", "family", "friend", "friends",
    "who", "human", "humans", "individual", "pedestrian", "spectator", "spectators",
    "toddler", "couple", "group",
}
PLURAL_WORDS = {
    "men", "women", "people", "children", "kids", "they", "them", "their", "theirs",
    "themselves", "these", "those", "both", "persons", "babies", "feet", "teeth", "geese",
    "mice", "police", "cattle", "sheep", "fish",
}
INDEFINITE_WORDS = {"a", "an", "some", "any", "another"}
DEFINITE_WORDS = {"the", "this", "that", "these", "those", "his", "her", "its", "their", "our", "my", "your"}
# Words right before a predicate noun phrase ("is it a puppy", "it 's a housecat",
# "looks like a surfer"): such a phrase often names something already mentioned.
PREDICATE_CUES = {
    "is", "'s", "are", "'re", "was", "were", "am", "be", "been", "it", "this", "that", "they",
    "he", "she", "like", "looks", "seems",
}
NUMBER_WORDS = {
    "both": 2, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}
PRONOUN_CLASSES = {
    "he": "male", "him": "male", "his": "male", "himself": "male",
    "she": "female", "her": "female", "hers": "female", "herself": "female",
    "it": "neuter", "its": "neuter", "itself": "neuter", "which": "neuter",
    "this": "neuter", "that": "neuter",
    "they": "plural", "them": "plural", "their": "plural", "theirs": "plural",
    "themselves": "plural", "these": "plural", "those": "plural",
    "who": "person",
}
# Pronouns of the speaker and the listener: they refer to people of the dialog,
# not to things of the image.
DIALOG_PRONOUNS = {"i", "me", "my", "mine", "myself", "you", "your", "yours", "yourself", "we", "us", "our", "ours"}
NOUN_CLASSES = ("male", "female", "person", "neuter")
PRONOUN_TYPES = ("male", "female", "neuter", "plural", "person", "dialog")
N_MENTION_TYPES = 2 * len(NOUN_CLASSES) + len(PRONOUN_TYPES)
"""Mention types: each noun class singular and plural, then each pronoun type."""


def words(span: Span) -> List[str]:
    """The mention's lower-cased words, without punctuation or spaces."""
    return [t.lower_ for t in span if not t.is_punct and not t.is_space]


def normalized_text(span: Span) -> str:
    """Lower-cased words of a mention without punctuation or leading determiners."""
    found = words(span)
    while len(found) > 1 and found[0] in DETERMINERS:
        found = found[1:]
    return " ".join(found)


def head_word(span: Span) -> str:
    """The mention's head: the syntactic root when the doc is parsed, else its
    last alphabetic word (English noun phrases are head-final)."""
    if span.doc.has_annotation("DEP"):
        return span.root.lower_
    alpha = [t.lower_ for t in span if t.is_alpha]
    found = alpha or words(span)
    return found[-1] if found else ""


def content_words(span: Span) -> FrozenSet[str]:
    """The mention's words that are not determiners or stop words."""
    return frozenset(t.lower_ for t in span if t.is_alpha and not t.is_stop and t.lower_ not in DETERMINERS)


def pronoun_class(span: Span) -> Optional[str]:
    """"male", "female", "neuter", "plural" or "person" for a one-word
    pronoun mention, else None."""
    found = words(span)
    return PRONOUN_CLASSES.get(found[0]) if len(found) == 1 else None


def is_plural(span: Span, head: str) -> bool:
    """Whether a noun phrase is plural: from its tag or morphology when the
    doc has them, else from its head word."""
    root = span.root if span.doc.has_annotation("DEP") else span[-1]
    if root.tag_ in ("NNS", "NNPS") or "Plur" in root.morph.get("Number"):
        return True
    if head in PLURAL_WORDS:
        return True
    return len(head) > 3 and head.endswith("s") and not head.endswith("ss")


def semantic_features(span: Span) -> Tuple[str, bool]:
    """(semantic class, plural) of a mention: class "male", "female", "person"
    or "neuter"."""
    cls = pronoun_class(span)
    if cls is not None:
        return ("neuter" if cls == "plural" else cls), cls == "plural"
    head = head_word(span)
    found = set(words(span))
    if head in MALE_WORDS:
        cls = "male"
    elif head in FEMALE_WORDS:
        cls = "female"
    elif head in PERSON_WORDS or found & (MALE_WORDS | FEMALE_WORDS):
        cls = "person"
    else:
        cls = "neuter"
    return cls, is_plural(span, head)


def referent_count(span: Span) -> Optional[int]:
    """How many things a mention refers to: 1 when it is singular, the number
    its words give ("two men", "both", "3 dogs"), else None (a plural of
    unknown count, "they", "the boys")."""
    if not semantic_features(span)[1]:
        return 1
    for word in words(span):
        if word in NUMBER_WORDS:
            return NUMBER_WORDS[word]
        if word.isdigit() and int(word) > 1:
            return int(word)
    return None


def compatible(pronoun: str, antecedent: Span) -> bool:
    """Whether a pronoun of class `pronoun` may refer to `antecedent`
    (gender, number and animacy agree)."""
    cls, plural = semantic_features(antecedent)
    if pronoun == "plural":
        return plural
    if pronoun == "person":
        return cls in ("male", "female", "person")
    if plural:
        return False
    if pronoun == "male":
        return cls in ("male", "person")
    if pronoun == "female":
        return cls in ("female", "person")
    return cls == "neuter"


def determiner_class(span: Span) -> int:
    """0 for a mention that starts with an indefinite determiner ("a dog"), 1
    for a definite one ("the dog", "his hat"), 2 for any other ("dogs", "2 men")."""
    found = words(span)
    if found and found[0] in INDEFINITE_WORDS:
        return 0
    return 1 if found and found[0] in DEFINITE_WORDS else 2


def follows_predicate_cue(span: Span) -> bool:
    """Whether the word before the mention is a copula or subject pronoun
    ("is it [a puppy]"), as before a predicate noun phrase."""
    return span.start > 0 and span.doc[span.start - 1].lower_ in PREDICATE_CUES


def mention_type(span: Span) -> Tuple[int, bool]:
    """The mention's type id (below N_MENTION_TYPES) and whether it is a pronoun."""
    found = words(span)
    if len(found) == 1 and found[0] in DIALOG_PRONOUNS:
        return 2 * len(NOUN_CLASSES) + PRONOUN_TYPES.index("dialog"), True
    cls = pronoun_class(span)
    if cls is not None:
        return 2 * len(NOUN_CLASSES) + PRONOUN_TYPES.index(cls), True
    cls, plural = semantic_features(span)
    return 2 * NOUN_CLASSES.index(cls) + int(plural), False
