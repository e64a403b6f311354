# Everyday pandas and numpy, run in the data policy's sandbox (tests/test_data_policy.py): what it
# imports lazily must be preloaded by the zygote (engine/sandbox/child.py, LAZY_IMPORTS).
import numpy as np
import pandas as pd
import json
recs = [{"id": i, "city": ["Haifa","Pune","Lyon"][i%3], "age": 20+i%50, "active": i%2==0,
         "score": i*0.5, "joined": f"2024-0{1+i%9}-1{i%9}", "tags": ["a","b"][: i%3]} for i in range(300)]
df = pd.DataFrame(recs)
print(df); print(df.head()); print(repr(df)); str(df); df.to_string(); df.describe(); print(df.describe())
df.groupby("city").size(); df.groupby("city")["age"].mean(); df.groupby("city").agg({"age": ["mean","max"], "score": "sum"})
df.groupby(["city","active"]).age.median().unstack()
df.pivot_table(index="city", columns="active", values="age", aggfunc="mean")
df["city"].value_counts(); df["city"].value_counts(normalize=True); df["city"].unique(); df["city"].nunique()
df.sort_values(["age","id"], ascending=[False, True]).head(5); df.nlargest(3, "age"); df.nsmallest(3,"score")
df[df.age > 30]; df.loc[df.active, ["id","age"]]; df.iloc[:5, :2]
df["joined_dt"] = pd.to_datetime(df["joined"]); df["joined_dt"].dt.year; df["joined_dt"].dt.month_name()
df.set_index("joined_dt").resample("ME")["age"].mean()
df["city"].str.upper(); df["city"].str.contains("a"); df["city"].str.len(); df["city"].str.split("a")
df.merge(df[["id","city"]], on="id"); pd.concat([df, df]); df.drop_duplicates("city"); df.fillna(0); df.dropna()
df.to_dict("records"); df.to_dict(); df.to_dict("list"); df["age"].tolist(); df.values.tolist(); df.to_numpy()
df.to_json(); df.to_json(orient="records"); df.to_csv()
df.explode("tags"); df.melt(id_vars=["id"], value_vars=["age"]); df["age"].rolling(3).mean()
df["age"].cumsum(); df["age"].pct_change(); df["age"].rank(); df["age"].quantile(0.9); df["age"].describe(); df.corr(numeric_only=True)
df.apply(lambda r: r["age"]*2, axis=1); df["age"].map(lambda a: a+1); df.assign(x=lambda d: d.age*2)
pd.cut(df["age"], 3); pd.qcut(df["age"], 4); pd.get_dummies(df["city"]); pd.crosstab(df.city, df.active)
df.select_dtypes('number').round(2); df.astype({"age": "float64"}); df["age"].astype(str); pd.Series([1,2,None]).isna()
pd.date_range("2024-01-01", periods=5); pd.Timestamp("2024-01-01") + pd.Timedelta(days=3); pd.to_numeric(pd.Series(["1","2"]))
df.select_dtypes("number"); df.dtypes; df.shape; df.columns.tolist(); df.T; df.sample(3, random_state=1); df.itertuples(); list(df.iterrows())[:2]
s = pd.Series([1.5, 2.5]); print(s); s.sum(); s.mean(); s.std(); float(s.max()); int(pd.Series([1]).sum())
df.groupby("city").apply(lambda g: g.age.max())
a = np.arange(12).reshape(3,4); print(a); repr(a); str(np.float64(1.5)); a.sum(); a.mean(axis=0); a.std(); np.median(a); np.percentile(a, 90)
np.sort(a); np.argsort(a); np.unique(a, return_counts=True); np.where(a>3, a, 0); np.linalg.norm(a); np.dot(a, a.T); a @ a.T; np.linalg.inv(np.eye(3))
np.random.default_rng(1).normal(size=3); np.random.default_rng(1).integers(0, 10, 5); np.histogram(a, bins=3); np.cumsum(a); np.round(a/3, 2); np.isnan(a)
np.array([1,2]).tolist(); np.float64(3).item(); np.concatenate([a,a]); np.stack([a,a]); np.linspace(0,1,5); np.corrcoef(a); np.polyfit([1,2,3],[2,4,6],1); np.clip(a,1,3)
np.array(["a","b"]); np.array([1.5]).astype(int); np.array([[1,2],[3,4]]).T; np.max(a); np.min(a); np.prod(a[0]+1); np.abs(-a); np.sqrt(a); np.exp(a/10); np.log1p(a)
np.array([1e10, 1e-5]); print(np.array([1e10, 1e-5])); np.datetime64("2024-01-01") + np.timedelta64(1, "D")
json.dumps(df.to_dict("records")[:2], default=str)
