"""reStructuredText (index/rst.py) and MyST Markdown (index/structure.py `_myst`): Sphinx documentation read by its
structure, every unit an exact slice of the raw file text."""

from __future__ import annotations

import pytest

from index.chunking import chunk_document
from index.loaders import load
from index.structure import document_units

pytestmark = pytest.mark.unit

RST = """.. _config:

=======================
Configuration Handling
=======================

Applications need some configuration. There are different settings
you might want to change.

.. toctree::
   :maxdepth: 2

   quickstart
   api

Configuration Basics
--------------------

The config is a subclass of a dictionary and can be modified just like
any dictionary::

    app = Flask(__name__)
    app.config['TESTING'] = True

.. code-block:: python
   :caption: settings.py

   SECRET_KEY = "dev"

.. note::

   Keys must be upper case. Lower case keys are ignored.

- First item of a list
  that wraps.
- Second item.

.. py:data:: SECRET_KEY

    A secret key used for signing the session cookie.

    Default: ``None``

.. click:example::

    @click.command()
    @click.option('--count', default=1)
    def hello(count):
        click.echo(count)

>>> 1 + 1
2

.. This is a comment the reader never sees.

    Nor its continuation.

+--------+---------+
| Name   | Default |
+========+=========+
| DEBUG  | False   |
+--------+---------+
"""


def test_rst_units_are_exact_with_kinds_and_sections(tmp_path):
    path = tmp_path / "config.rst"
    path.write_text(RST, encoding="utf-8")
    doc = load(path)
    assert doc.metadata["format"] == "rst" and doc.title == "Configuration Handling"
    us = document_units(doc)
    for u in us:
        assert doc.text[u.start : u.end] == doc.text[u.start : u.end].strip() != ""
    for a, b in zip(us, us[1:]):
        assert a.end <= b.start
    got = {doc.text[u.start : u.end]: u for u in us}
    assert got["Configuration Handling"].kind == "heading"
    assert got["Applications need some configuration."].section == "Configuration Handling"
    assert got["Configuration Basics"].section == "Configuration Handling › Configuration Basics"
    assert got["app = Flask(__name__)\n    app.config['TESTING'] = True"].kind == "code"  # literal block after "::"
    assert got['SECRET_KEY = "dev"'].kind == "code"  # directive options are not code
    assert got["Keys must be upper case."].kind == "admonition"
    assert got["First item of a list\n  that wraps."].kind == "list_item"
    assert got["Second item."].kind == "list_item"
    # a documented object is a heading over its description
    assert got["SECRET_KEY"].kind == "heading"
    assert got["A secret key used for signing the session cookie."].section.endswith("Configuration Basics › SECRET_KEY")
    assert got["Default: ``None``"].kind == "prose"
    example = "@click.command()\n    @click.option('--count', default=1)\n    def hello(count):\n        click.echo(count)"
    assert got[example].kind == "code"  # an extension's directive whose body reads as code
    assert got[">>> 1 + 1\n2"].kind == "code"
    assert got["DEBUG  | False"].kind == "table_row"
    text = " ".join(got)
    assert "comment the reader" not in text and "continuation" not in text and "quickstart" not in text
    assert ".. note::" not in text and "_config" not in text


MYST = """(options)=

# Options

```{eval-rst}
.. currentmodule:: click
```

Options are added with the {func}`option` decorator.

## The {class}`Option` class

````{note}
:class: tip

Options are optional. They are never positional.

```python
@click.option("--name")
```
````

:::{warning}
Do not read secrets from options.
:::

```{code-block} python
:linenos:

import click
```

```{toctree}
:hidden:

quickstart
```

% a MyST comment

```{eval-rst}
.. py:function:: echo(message)

   Prints a message.
```
"""


def test_myst_directives_roles_and_labels(tmp_path):
    path = tmp_path / "options.md"
    path.write_text(MYST, encoding="utf-8")
    doc = load(path)
    us = document_units(doc)
    got = {doc.text[u.start : u.end]: u for u in us}
    for u in us:
        assert doc.text[u.start : u.end] == doc.text[u.start : u.end].strip() != ""
    assert got["Options are added with the {func}`option` decorator."].kind == "prose"
    assert got["Options are optional."].kind == "admonition"  # a note's body is prose, not a code block
    assert got["Options are optional."].section == "Options › The Option class"  # the role reads as its target
    assert got['@click.option("--name")'].kind == "code"  # code nested in the note stays code
    assert got["Do not read secrets from options."].kind == "admonition"
    assert got["import click"].kind == "code"  # a code directive stays one code block, without its options
    assert got["Prints a message."].section == "Options › The Option class › echo(message)"  # {eval-rst} read as RST
    text = " ".join(got)
    assert "(options)=" not in text and "quickstart" not in text and "MyST comment" not in text
    assert not any(t.startswith(("```", ":::", "{")) for t in got)


def test_rst_chunks_keep_code_whole_and_carry_sections(tmp_path):
    path = tmp_path / "config.rst"
    path.write_text(RST, encoding="utf-8")
    doc = load(path)
    chunks = chunk_document(doc, max_chars=300)
    for c in chunks:
        assert doc.text[c.start : c.end] == c.text
    holding = [c for c in chunks if "@click.command()" in c.text]
    assert holding and "click.echo(count)" in holding[0].text
    assert any(c.section.endswith("SECRET_KEY") for c in chunks)

