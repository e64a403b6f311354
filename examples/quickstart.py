"""Check, then run: the two calls most embedders need. Run: python examples/quickstart.py"""

from __future__ import annotations

from engine import Engine, Policy, load_tools


def main() -> None:
    engine = Engine(load_tools("examples.toolsets.users"), Policy.load("default"))
    try:
        report = engine.check("for u in get_all_users():\n    deactivate(u.name)\n")
        for d in report.diagnostics:
            print(f"{d.stage.value} {d.code} {d.location} {d.message}\n  hint: {d.hint}")
        with engine.session() as session:
            session.run("inactive = [u for u in get_all_users() if not u.active]")
            result = session.run("for u in inactive:\n    deactivate(u.id)\n"
                                 "final_answer(len(inactive))")
            print("deactivated:", result.value, "| tool calls:", len(result.tool_calls))
            assert result.ok and result.final
    finally:
        engine.close()


if __name__ == "__main__":
    main()
