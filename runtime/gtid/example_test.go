package gtid_test

import (
	"fmt"

	"github.com/replicant-lua/replicant-lua/runtime/gtid"
)

func ExampleParseMySQL() {
	s, err := gtid.ParseMySQL("3E11FA47-71CA-11E1-9E33-C80AA9429562:7:1-5,\n" +
		"3E11FA47-71CA-11E1-9E33-C80AA9429562:Billing:1-3:6-9")
	if err != nil {
		panic(err)
	}
	fmt.Println(s)
	// Output: 3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7:billing:1-3:6-9
}

// An errant-transaction check: what the replica executed that the primary
// never did.
func ExampleMySQLSet_Subtract() {
	primary, _ := gtid.ParseMySQL("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-100")
	replica, _ := gtid.ParseMySQL("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-90," +
		"4f1f5a70-1bd8-11ef-9a3c-0242ac120002:1-2")
	errant := replica.Subtract(primary)
	fmt.Println(errant.IsEmpty(), errant)
	// Output: false 4f1f5a70-1bd8-11ef-9a3c-0242ac120002:1-2
}

// MariaDB compares positions per domain, as MASTER_GTID_WAIT does; the
// server id does not take part.
func ExampleMariaDBSet_Contains() {
	slavePos, _ := gtid.ParseMariaDB("0-1-100,1-2-50")
	primary, _ := gtid.ParseMariaDB("0-3-100")
	fmt.Println(slavePos.Contains(primary), slavePos.Subtract(primary))
	// Output: true 1-2-50
}

func ExampleSet_Union() {
	a, _ := gtid.Parse("0-1-5", gtid.MariaDB)
	b, _ := gtid.ParseAny("3e11fa47-71ca-11e1-9e33-c80aa9429562:1")
	_, err := a.Union(b)
	fmt.Println(err)
	// Output: gtid union: gtid sets of different flavors (mariadb and mysql)
}

func ExamplePosition_Compare() {
	a, _ := gtid.ParsePosition("mysql-bin.999999:4")
	b, _ := gtid.ParsePosition("mysql-bin.1000000:4")
	c, err := a.Compare(b)
	fmt.Println(c, err)
	_, err = a.Compare(gtid.Position{File: "db2-bin.000001", Pos: 4})
	fmt.Println(err)
	// Output:
	// -1 <nil>
	// compare mysql-bin.999999:4 with db2-bin.000001:4: different binary logs "mysql-bin." and "db2-bin."
}
