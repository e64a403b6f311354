# Run with the data policy (pip install -e '.[data]'):
#   codeact run examples/snippets/users_per_city.py --tools examples.toolsets.users --policy data
import pandas as pd

users = pd.DataFrame([u.model_dump() for u in get_all_users()])
users["city"] = users["address"].map(lambda a: a["city"])
per_city = users.groupby("city").agg(users=("id", "count"), active_share=("active", "mean"))
print(per_city.round(3))
top = per_city.sort_values("users", ascending=False).head(3)
final_answer(top.reset_index().round(3).to_dict("records"))
