"""A small tour of lupa-rs: run it after `pip install .` to see Lua and Python working together.

A shop's pricing rules live in Lua (where a non-programmer could edit them); the data and the
reporting live in Python.  Lua calls back into Python, Python iterates Lua tables, a Lua
coroutine produces a stream of values, and a Lua error arrives as a Python exception.
"""

import lupa
from lupa import LuaRuntime

RULES = """
local rules = {}

-- Price of one order line; `item` is a Python dict, `discount` a Python function.
function rules.line_price(item, discount)
    local price = item.price * item.quantity
    if item.quantity >= 10 then
        price = price * discount(item.name)
    end
    return price
end

-- A coroutine that yields the running total after each line.
function rules.running_totals(order, discount)
    local total = 0
    for item in python.iter(order) do
        total = total + rules.line_price(item, discount)
        coroutine.yield(item.name, total)
    end
end

return rules
"""


def bulk_discount(name):
    """Called from Lua: 10% off for bulk orders, 20% off apples."""
    return 0.8 if name == "apple" else 0.9


def main():
    lua = LuaRuntime(unpack_returned_tuples=True)
    print(f"Running {lua.lua_implementation} through lupa-rs (lupa {lupa.__version__})")

    rules = lua.execute(RULES)
    order = [
        {"name": "apple", "price": 0.5, "quantity": 12},
        {"name": "bread", "price": 2.25, "quantity": 1},
        {"name": "milk", "price": 1.1, "quantity": 10},
    ]

    for item in order:
        print(f"  {item['name']:<6} {rules.line_price(item, bulk_discount):6.2f}")

    print("Running totals from a Lua coroutine:")
    for name, total in rules.running_totals.coroutine(order, bulk_discount):
        print(f"  after {name:<6} {total:6.2f}")

    # Lua tables are Python mappings; Python containers become Lua tables on request.
    stock = lua.table_from({"apple": 100, "bread": 20})
    stock["milk"] = 30
    print("Stock table from Python:", dict(sorted(stock.items())))

    # Errors raised in Lua arrive as lupa.LuaError with the Lua traceback.
    try:
        rules.line_price({"name": "ghost", "price": None, "quantity": 1}, bulk_discount)
    except lupa.LuaError as error:
        print("Lua error caught in Python:", str(error).splitlines()[0])


if __name__ == "__main__":
    main()
