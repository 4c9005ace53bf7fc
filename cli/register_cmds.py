"""Commands of this group are added by register(group)."""


def register(group) -> None:
    pass
