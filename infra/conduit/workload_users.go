package conduit

import (
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/bson"
)

func byID(id any) bson.D { return bson.D{{Key: "_id", Value: id}} }

func set(kv ...bson.E) bson.D { return bson.D{{Key: "$set", Value: bson.D(kv)}} }

func baseName(name string) string {
	if i := strings.Index(name, "-r"); i > 0 {
		return name[:i]
	}
	return name
}

func (g *Generator) renameUser() []Op {
	id, ok := g.userPool.pickHot(g.r)
	if !ok {
		return nil
	}
	u := g.users[id]
	u.Username = g.uniqueName(baseName(u.Username))
	return []Op{{Kind: KindRenameUser, Action: UpdateOne, Coll: CollUsers, Filter: byID(id),
		Update: set(bson.E{Key: "username", Value: u.Username})}}
}

func (g *Generator) updateProfile() []Op {
	id, ok := g.userPool.pickHot(g.r)
	if !ok {
		return nil
	}
	u := g.users[id]
	bio := fmt.Sprintf("%s, updated at step %d", sentence(g.r, 4), g.step)
	img := fmt.Sprintf("https://img.example.org/%s-%d.png", baseName(u.Username), g.step)
	var update bson.D
	switch g.r.IntN(6) {
	case 0:
		u.Bio = &bio
		update = set(bson.E{Key: "bio", Value: bio})
	case 1:
		u.Bio = nil
		update = bson.D{{Key: "$unset", Value: bson.D{{Key: "bio", Value: ""}}}}
	case 2:
		u.Image = &img
		update = set(bson.E{Key: "image", Value: img})
	case 3:
		u.Image = nil
		update = bson.D{{Key: "$unset", Value: bson.D{{Key: "image", Value: ""}}}}
	case 4:
		u.Bio = nil
		update = set(bson.E{Key: "bio", Value: nil})
	default:
		u.Bio, u.Image = &bio, &img
		u.Username = g.uniqueName(baseName(u.Username))
		update = set(bson.E{Key: "username", Value: u.Username}, bson.E{Key: "bio", Value: bio}, bson.E{Key: "image", Value: img})
	}
	return []Op{{Kind: KindUpdateProfile, Action: UpdateOne, Coll: CollUsers, Filter: byID(id), Update: update}}
}

func (g *Generator) replaceUser() []Op {
	id, ok := g.userPool.pickHot(g.r)
	if !ok {
		return nil
	}
	u := g.users[id]
	if g.r.IntN(2) == 0 {
		u.Username = g.uniqueName(baseName(u.Username))
	}
	doc := bson.D{{Key: "username", Value: u.Username}, {Key: "email", Value: u.Email}}
	switch g.r.IntN(3) {
	case 0: // bio goes missing
		u.Bio = nil
	case 1:
		bio := "replaced " + sentence(g.r, 3)
		u.Bio = &bio
		doc = append(doc, bson.E{Key: "bio", Value: bio})
	default:
		u.Bio = nil
		doc = append(doc, bson.E{Key: "bio", Value: nil})
	}
	if g.r.IntN(2) == 0 {
		u.Image = nil
	} else if u.Image != nil {
		doc = append(doc, bson.E{Key: "image", Value: *u.Image})
	}
	return []Op{{Kind: KindReplaceUser, Action: ReplaceOne, Coll: CollUsers, Filter: byID(id), Update: doc}}
}

func (g *Generator) insertUser() []Op {
	name := g.uniqueName(pick(g.r, firstNames) + "_new")
	u := User{ID: g.ids.next(), Username: name, Email: name + "@example.org"}
	if g.r.IntN(2) == 0 {
		bio := sentence(g.r, 5)
		u.Bio = &bio
	}
	g.addUser(u)
	return []Op{{Kind: KindInsertUser, Action: InsertOne, Coll: CollUsers, Docs: []any{u.Doc()}}}
}

func (g *Generator) deleteUser() []Op {
	if g.userPool.len() < 3 {
		return nil
	}
	id, _ := g.userPool.pick(g.r)
	delete(g.users, id)
	g.userPool.remove(id)
	g.deletedUsers = append(g.deletedUsers, id)
	return []Op{{Kind: KindDeleteUser, Action: DeleteOne, Coll: CollUsers, Filter: byID(id)}}
}
