"""The words of a command line as logs frame them: the shell's quotes, a wrapper's
brackets, a list's repr, and a -device JSON object split at its spaces. Syntax only: which
word is an option, and what its value declares, is model/declared.py's."""


def unquote(word: str) -> str:
    """A word as the shell or a log's framing wrote it: libvirt's single quotes around a
    JSON value, ps's none, Kata's brackets and logfmt quotes around the whole list."""
    word = word.strip()
    word = word.lstrip("[")
    if word.endswith(('"', "'")) and word.rstrip("\"'").endswith("]"):
        word = word.rstrip("\"'")[:-1]
    elif word.endswith("]") and len(word) > 2 and word[0] in "'\"" and word[-2] == word[0]:
        word = word[:-1]  # the last word of a list's repr: "if=virtio,file=d.img"]
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        word = word[1:-1]
    return word


def option_value(words: tuple, start: int) -> str:
    """The option's value at words[start]: one word, or a JSON object written with a space
    after its commas and colons (Python's json.dumps() default separators, as avocado-vt's
    "-device '{"driver": "virtio-rng-ccw", "id": ...}'" lines are; libvirt writes none),
    which the line's words split: joined again up to the word that closes it."""
    value = str(words[start])
    depth = value.count("{") - value.count("}")
    if not value.lstrip("'").startswith("{") or depth <= 0:
        return value
    for end in range(start + 1, min(len(words), start + _JSON_WORDS)):
        word = str(words[end])
        depth += word.count("{") - word.count("}")
        if depth <= 0:  # the word that closes the object (braces in its strings aside)
            return " ".join(str(w) for w in words[start:end + 1])
    return value


# A -device JSON object of more words than this is no option value (a cut line)
_JSON_WORDS = 64
