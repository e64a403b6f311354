users = get_all_users()
for u in users
    print(u.name)
