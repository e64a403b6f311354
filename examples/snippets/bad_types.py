users = get_all_users()
for u in users:
    if u.address.contry == "IL":
        deactivate(u.name)
