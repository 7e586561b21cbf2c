CREATE TABLE employee (id serial PRIMARY KEY, name text NOT NULL, salary int, manager_id int);
CREATE FUNCTION employee_yearly_salary(employee_row employee) RETURNS int
  AS $$ SELECT employee_row.salary * 12 $$ LANGUAGE sql STABLE;
