"""Keys, prefixes, thresholds and word lists shared by the whole package: one
definition of each, imported wherever it is used."""

# doc.spans keys
CLUSTER_PREFIX = "coref_clusters"
"""Prefix of the cluster span groups: `doc.spans["coref_clusters_1"]`, ... (the
key spaCy's own coref component writes, so tools written for it work unchanged)."""
GOLD_MENTIONS_KEY = "mentions"
"""Key of the mentions given to the component: gold mentions, or a span finder's."""
PREDICTED_MENTIONS_KEY = "coref_mentions"
"""Key under which the component writes every mention it considered."""

# evaluation
IOU_THRESHOLD = 0.5
"""A predicted box grounds a gold box when their IoU (inclusive pixels) is at least this."""
GROUNDING_PRONOUNS = (
    "them", "they", "their", "this", "that", "which", "those", "it", "who",
    "he", "she", "her", "him", "its", "his",
)
"""Pronouns of the grounding evaluation (the CIN evaluation's list): a mention whose
whole text is one of these counts as a pronoun, any other as a noun."""

# mention finding
MENTION_PRONOUNS = GROUNDING_PRONOUNS + ("these", "theirs", "hers", "itself", "himself", "herself", "themselves")
"""Words the noun-chunk mention getter takes as pronoun mentions."""
MENTION_STOP_LIST = (
    "the image", "this image", "the picture", "this picture", "the photo",
    "this photo", "the photograph", "the left", "the right", "the top",
    "the bottom", "the middle", "the center", "the centre", "the front",
    "the back", "the background", "the foreground", "left", "right", "top",
    "bottom", "background", "foreground", "we", "i", "you", "us", "me",
    "image", "picture", "photo", "view", "the view", "this", "there", "which",
)
"""Noun chunks that never refer to an object of the image (the original's stop list)."""

# model outputs
MASKED_SCORE = -1e4
"""The logit of a slot that does not exist (padding, a region past a doc's own,
a mention that is no antecedent candidate): large enough to zero a softmax
slot, small enough for float16."""
