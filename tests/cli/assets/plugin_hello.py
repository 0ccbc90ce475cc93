"""A command module that adds `hello` through register(group)."""

import click


@click.command("hello")
def hello() -> None:
    click.echo("hello from a plugin")


def register(group: click.Group) -> None:
    group.add_command(hello)
