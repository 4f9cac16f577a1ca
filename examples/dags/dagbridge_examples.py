"""The DAGs the example rules in rules/ trigger; each prints the conf it was started with."""
from datetime import datetime

try:
    from airflow.sdk import DAG
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow import DAG
    from airflow.operators.python import PythonOperator

for dag_id in ["ci_build", "ingest_raw-landing", "export_table", "fulfil_order", "reconcile_invoice"]:
    with DAG(dag_id=dag_id, schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["dagbridge-example"]) as dag:
        PythonOperator(task_id="show_conf", python_callable=lambda **c: print("conf =", c["dag_run"].conf))
    globals()[dag_id.replace("-", "_")] = dag
