# The seed's task: deactivate every inactive user and say how many there were.
users = get_all_users()
inactive = [u for u in users if not u.active]
for u in inactive:
    deactivate(u.id)
print(f"deactivated {len(inactive)} of {len(users)} users")
final_answer(len(inactive))
